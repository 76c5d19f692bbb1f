"""SQLite with a queue for writers (``ENGINE = "common.sqlite"``): see ``base``."""
