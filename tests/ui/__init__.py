"""UI tests: widgets and screens driven through Textual's Pilot in a headless app."""
