"""Data: readers of data files, datasets, targets, preprocessing and splits."""
