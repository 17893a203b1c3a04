"""The staff app: moving bundles, replies and acks for staff who never read a tip here."""

from .app import create_staff_app

__all__ = ["create_staff_app"]
