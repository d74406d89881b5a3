"""The HTTP API (FastAPI): status, windows, events, dead letters, metrics."""
