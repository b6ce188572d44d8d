"""Rubicon's bundled connection broker (FastAPI + SQLAlchemy)."""

__version__ = "0.1.0"
