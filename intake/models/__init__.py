"""The intake's tables: sources, envelopes, replies, source sessions; staff tables."""

from .base import Base
from .envelope import EXPORTED, PENDING, Envelope
from .reply import Reply
from .source import Source
from .source_session import SourceSession
from .staff_account import StaffAccount
from .staff_audit import StaffAudit
from .staff_login_throttle import StaffLoginThrottle

__all__ = [
    "EXPORTED",
    "PENDING",
    "Base",
    "Envelope",
    "Reply",
    "Source",
    "SourceSession",
    "StaffAccount",
    "StaffAudit",
    "StaffLoginThrottle",
]
