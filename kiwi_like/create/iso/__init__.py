"""ISO 9660 media: the live ISO (`image="iso"`) and, later, the oem install ISO."""
