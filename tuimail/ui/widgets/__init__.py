"""Widgets of the tuimail app: the message list and friends."""
