"""The intake's tables: sources, envelopes, replies, source sessions. Nothing else."""

from .base import Base
from .envelope import EXPORTED, PENDING, Envelope
from .reply import Reply
from .source import Source
from .source_session import SourceSession

__all__ = ["EXPORTED", "PENDING", "Base", "Envelope", "Reply", "Source", "SourceSession"]
