"""Efir: real-time broadcast compliance monitor (airtime quotas for TV and radio)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("efir")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
