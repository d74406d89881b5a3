"""Wire schemas: validation of external input into core values."""
