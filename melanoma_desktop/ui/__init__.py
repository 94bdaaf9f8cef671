"""The Qt layer: windows and widgets that wrap the core; nothing here computes a prediction."""
