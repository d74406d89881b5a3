"""Notifiers: rendering notifications for each receiver type, and delivering the outbox."""
