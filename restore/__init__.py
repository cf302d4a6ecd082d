"""restore: image restoration and super-resolution."""

__version__ = "0.1.0"
