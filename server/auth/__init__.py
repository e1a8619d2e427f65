"""Authentication (tokens, client certificates) and per-domain authorisation."""
