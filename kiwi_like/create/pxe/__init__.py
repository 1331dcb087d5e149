"""Network boot (`image="kis"`, formerly `pxe`): what a PXE/iPXE server hands out."""
