"""The package version (one place, read by the package face, model files and the CLI)."""

__version__ = "0.1.0"
