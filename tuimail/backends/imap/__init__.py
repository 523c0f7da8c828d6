"""IMAP through imapclient: connections under the TLS policy, and (later) folders and messages."""
