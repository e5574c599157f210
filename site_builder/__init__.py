"""site_builder: a static daily papers digest generator."""

__version__ = "0.1.0"
