"""Bytes to model and back, with no network: parsing, rendering safe for a terminal, building."""
