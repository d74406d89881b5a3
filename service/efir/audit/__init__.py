"""Offline audit: ``efir audit`` evaluates a closed period from as-run files."""
