"""The architectures (one spec each in specs/, listed by the registry), building them, the ImageNet bases they
stand on (found, checked by content, loaded), the custom layers, cached base features and the devices they run
on."""
