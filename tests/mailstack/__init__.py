"""Real Dovecot + Postfix mail stack for tuimail's integration tests (see mailstack.sh)."""
