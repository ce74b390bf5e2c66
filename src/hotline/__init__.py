"""hotline: the backend of a city's unified 12345 government service hotline."""

__version__ = "0.1.0"
