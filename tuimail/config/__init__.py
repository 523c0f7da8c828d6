"""Paths, settings and secrets."""
