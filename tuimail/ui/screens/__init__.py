"""The app's screens: inbox, reader, composer, help and dialogs."""
