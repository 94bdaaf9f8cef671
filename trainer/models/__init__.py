"""The three architectures, the ImageNet bases they stand on (found, checked by content, loaded), the
custom layers, cached base features and the devices they run on."""
