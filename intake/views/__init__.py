"""Blueprints of the source app, one per concern."""
