"""Moving ciphertext across the air gap: export bundles, reply bundles, acks, retention.

Plain functions over a database session and an EnvelopeStore, shared by the `sealdrop`
commands (intake/transfer_cli.py) and the staff app (intake/staff/). Nothing here can open
a tip: the server holds no key for that.
"""

from .acks import AckResult, apply_ack
from .audit import OPERATOR, record_action
from .errors import TransferError
from .export import ExportPlan, mark_exported, plan_export, stream_bundle, write_bundle
from .reply_import import ReplyImport, import_replies
from .retention import PurgeResult, purge
from .summary import Pile, TransferSummary, summarize

__all__ = [
    "OPERATOR",
    "AckResult",
    "ExportPlan",
    "Pile",
    "PurgeResult",
    "ReplyImport",
    "TransferError",
    "TransferSummary",
    "apply_ack",
    "import_replies",
    "mark_exported",
    "plan_export",
    "purge",
    "record_action",
    "stream_bundle",
    "summarize",
    "write_bundle",
]
