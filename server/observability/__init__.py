"""Observability: Prometheus metrics, request ids and the log context of a call."""
