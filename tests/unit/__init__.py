"""Unit tests: real files, real SQLite, scripted fake servers on loopback; no real mail stack."""
