"""Frozen dataclasses, enums and errors shared by every layer (standard library only)."""
