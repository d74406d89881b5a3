"""The long-running service: ingest, live state, HTTP, MQTT, supervision."""
