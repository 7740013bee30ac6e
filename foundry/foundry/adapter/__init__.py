"""Adapter training on PyTorch with the studio's losses, draws and optimizer (`train-adapter`)."""
