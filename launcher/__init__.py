"""Rubicon launcher: sign in to a broker, pick a desktop, open it natively."""

__version__ = "0.1.0"
