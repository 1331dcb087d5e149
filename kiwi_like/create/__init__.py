"""Stage 3: create image files from a prepared root (see pipeline.py)."""
