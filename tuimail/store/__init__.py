"""The local SQLite cache; the only place that writes SQL."""
