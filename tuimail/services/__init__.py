"""Use-cases in plain blocking Python, reporting through callbacks; no Textual here."""
