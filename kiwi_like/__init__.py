"""kiwi-like: build bootable appliances from KIWI NG image descriptions."""

__version__ = "0.1.0"
