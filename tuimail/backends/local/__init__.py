"""Mail kept in local files: Maildir directories and mbox files."""
