"""Unit tests: real files, real SQLite, no servers."""
