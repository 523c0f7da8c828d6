"""A scripted fake mail server and throw-away certificates, for what a real server will not do."""
