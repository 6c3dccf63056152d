"""Stream simulation outputs into one normalized SQLite warehouse."""

__version__ = "0.1.0"
