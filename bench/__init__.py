"""Measurements of speed and memory (never asserted in tests). Run with `python -m bench`."""
