"""`sealdrop export`, `import-replies`, `apply-ack` and `purge`: the staff transfer for
operators without a browser (the staff app does the same through intake/transfer/)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from nacl.encoding import RawEncoder

from crypto.bundle import MAX_ENVELOPES
from crypto.keys import fingerprint_digits

from .cli_options import CONTEXT, instance_option
from .config import ConfigError
from .instance import load_instance_signing_key
from .storage import StorageError
from .transfer import OPERATOR, TransferError, record_action
from .transfer.acks import MAX_ACK_BYTES, apply_ack
from .transfer.export import export_to_file, plan_export
from .transfer.instance_access import InstanceAccess, open_instance, utc_today
from .transfer.reply_import import MAX_REPLY_BUNDLE_BYTES, import_replies
from .transfer.retention import purge
from .transfer.summary import human_size

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the outcome as JSON (see docs/staff.md)."
)


def _print_json(value: dict[str, Any]) -> None:
    click.echo(json.dumps(value, sort_keys=True))


@contextmanager
def _instance(instance: Path) -> Iterator[InstanceAccess]:
    """The instance, with every expected failure turned into `Error: ...`."""
    try:
        with open_instance(instance) as access:
            yield access
    except (ConfigError, TransferError, StorageError) as exc:
        raise click.ClickException(str(exc)) from exc


def _read_input(path: Path, limit: int, what: str) -> bytes:
    """A whole input file, refused when it is larger than any real one."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError as exc:
        raise click.ClickException(f"no file {path}. Check the path of the {what}.") from exc
    except IsADirectoryError as exc:
        raise click.ClickException(f"{path} is a folder, not a {what}.") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}.") from exc
    if len(data) > limit:
        raise click.ClickException(f"{path} is larger than any {what}: nothing was changed.")
    return data


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (hidden when stderr is not a terminal)."""
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


@click.command("export", context_settings=CONTEXT)
@instance_option()
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="New bundle file (never overwritten), e.g. on the transfer USB stick.",
)
@click.option(
    "--include-exported",
    is_flag=True,
    help="Also carry envelopes exported before but never acked (e.g. a lost bundle).",
)
@json_option
def export_command(instance: Path, out: Path, include_exported: bool, as_json: bool) -> None:
    """Write every pending envelope into a bundle for `sealdrop-admin import`.

    The envelopes are marked exported; nothing is deleted until the offline side's ack
    comes back (`sealdrop apply-ack`). The bundle holds only sealed envelopes and a
    manifest signed by this instance's key. It is written to FILE.tmp first and renamed
    when complete, so FILE is never a partial bundle.

    \b
    Example:
        sealdrop export --instance /var/lib/sealdrop --out /media/usb/bundle-2026-11-29.sdb
    """
    with _instance(instance) as access:
        key = load_instance_signing_key(access.config)
        today = utc_today()
        plan = plan_export(
            access.db, access.store, access.config.instance_id, key, today, include_exported
        )
        for envelope_id in plan.missing:
            click.echo(
                f"Warning: envelope {envelope_id} has no file in storage (an ack was being "
                "applied?): left out.",
                err=True,
            )
        count = len(plan.envelope_ids)
        fingerprint = fingerprint_digits(key.verify_key.encode(RawEncoder))
        outcome: dict[str, Any] = {
            "out": str(out) if count else None,
            "envelopes": count,
            "bytes": plan.envelope_bytes,
            "sources": len(plan.manifest.reply_keys),
            "missing": list(plan.missing),
            "left_for_next": plan.left_for_next,
            "instance_fingerprint": fingerprint,
        }
        if count == 0:
            if as_json:
                _print_json(outcome)
                return
            hint = "" if include_exported else " (add --include-exported to send again)"
            click.echo(f"No pending envelopes{hint}: no bundle was written.")
            return
        try:
            with _progress(plan.envelope_bytes, "Exporting") as advance:
                export_to_file(out, access.db, access.store, key, plan, today, advance)
        except OSError as exc:
            raise click.ClickException(
                f"cannot write {out}: {exc.strerror}. Nothing was marked exported."
            ) from exc
        except TransferError as exc:
            raise click.ClickException(str(exc)) from exc
        record_action(access.db, OPERATOR, "export", f"{count} envelope(s)", today)
        access.db.commit()
    if as_json:
        _print_json(outcome)
        return
    click.echo(
        f"Exported {count} envelope(s), {human_size(plan.envelope_bytes)}, from "
        f"{len(plan.manifest.reply_keys)} source(s) to {out}."
    )
    click.echo(f"Instance key fingerprint: {fingerprint}")
    if plan.left_for_next:
        click.echo(
            f"{plan.left_for_next} more envelope(s) did not fit (a bundle carries at most "
            f"{MAX_ENVELOPES}): run export again for the next bundle."
        )
    click.echo("They stay on this server until the ack comes back: sealdrop apply-ack FILE")


@click.command("import-replies", context_settings=CONTEXT)
@instance_option()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def import_replies_command(instance: Path, file: Path, as_json: bool) -> None:
    """Store the replies of a reply bundle made by `sealdrop-admin export-replies`.

    Every reply must be signed by the admin key and addressed to a source of this
    instance; if one is not, nothing at all is stored. Importing the same bundle again
    stores nothing new.

    \b
    Example:
        sealdrop import-replies --instance /var/lib/sealdrop /media/usb/replies.sdr
    """
    data = _read_input(file, MAX_REPLY_BUNDLE_BYTES, "reply bundle")
    with _instance(instance) as access:
        signer = access.admin_signer()
        today = utc_today()
        try:
            result = import_replies(
                access.db, io.BytesIO(data), signer, access.config.instance_id, today
            )
        except TransferError as exc:
            raise click.ClickException(str(exc)) from exc
        record_action(
            access.db, OPERATOR, "import-replies", f"{result.added} new of {result.total}", today
        )
        access.db.commit()
    if as_json:
        _print_json({"total": result.total, "added": result.added, "already": result.already})
        return
    if result.added == 0 and result.total:
        click.echo(
            f"Nothing new: all {result.total} reply(ies) of this bundle were already stored."
        )
    else:
        already = f" ({result.already} already stored)" if result.already else ""
        click.echo(f"Stored {result.added} new reply(ies){already}.")


@click.command("apply-ack", context_settings=CONTEXT)
@instance_option()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def apply_ack_command(instance: Path, file: Path, as_json: bool) -> None:
    """Delete the envelopes an ack from `sealdrop-admin import --ack-out` lists.

    The ack must be signed by the admin key and made for this instance. Only exported
    envelopes are deleted (file, then database row). Applying the same ack again is
    harmless.

    \b
    Example:
        sealdrop apply-ack --instance /var/lib/sealdrop /media/usb/ack.sda
    """
    data = _read_input(file, MAX_ACK_BYTES, "ack")
    with _instance(instance) as access:
        signer = access.admin_signer()
        today = utc_today()
        try:
            result = apply_ack(access.db, access.store, data, signer, access.config.instance_id)
        except TransferError as exc:
            raise click.ClickException(str(exc)) from exc
        record_action(
            access.db,
            OPERATOR,
            "apply-ack",
            f"{len(result.deleted)} deleted, {len(result.already_gone)} already gone, "
            f"{len(result.not_exported)} never exported",
            today,
        )
        access.db.commit()
    if as_json:
        _print_json(
            {
                "listed": result.listed,
                "deleted": len(result.deleted),
                "already_gone": len(result.already_gone),
                "not_exported": result.not_exported,
            }
        )
        return
    click.echo(
        f"Deleted {len(result.deleted)} envelope(s); {len(result.already_gone)} were already gone."
    )
    if result.not_exported:
        click.echo(
            f"Kept {len(result.not_exported)} envelope(s) the ack lists but this server never "
            "exported (they stay pending): "
            + ", ".join(result.not_exported[:5])
            + (" ..." if len(result.not_exported) > 5 else "")
        )


@click.command("purge", context_settings=CONTEXT)
@instance_option()
@json_option
def purge_command(instance: Path, as_json: bool) -> None:
    """Apply the retention rules of [retention] in config.toml.

    Replies older than reply_days and source sessions older than session_days are
    deleted. Envelopes are deleted only by an ack; the one exception is an explicit
    exported_unacked_days rule (0, the default, keeps them forever). Pending envelopes
    are never purged.

    \b
    Example:
        sealdrop purge --instance /var/lib/sealdrop
    """
    with _instance(instance) as access:
        rules = access.config.retention
        today = utc_today()
        result = purge(access.db, access.store, rules, today)
        record_action(
            access.db,
            OPERATOR,
            "purge",
            f"{result.replies_deleted} replies, {result.sessions_deleted} sessions, "
            f"{len(result.envelopes_deleted)} envelopes",
            today,
        )
        access.db.commit()
    if as_json:
        oldest = result.oldest_exported_day
        _print_json(
            {
                "replies_deleted": result.replies_deleted,
                "sessions_deleted": result.sessions_deleted,
                "envelopes_deleted": len(result.envelopes_deleted),
                "exported_kept": {
                    "envelopes": result.exported_kept.count,
                    "bytes": result.exported_kept.size,
                    "since": oldest.isoformat() if oldest else None,
                },
            }
        )
        return

    def rule(days: int) -> str:
        return f"older than {days} day(s)" if days else "no rule: kept"

    lines: list[Any] = [
        f"Replies deleted: {result.replies_deleted} ({rule(rules.reply_days)}).",
        f"Source sessions deleted: {result.sessions_deleted} ({rule(rules.session_days)}).",
    ]
    if rules.exported_unacked_days:
        lines.append(
            f"Exported envelopes never acked, deleted by rule "
            f"({rule(rules.exported_unacked_days)}): {len(result.envelopes_deleted)}."
        )
    kept = result.exported_kept
    if kept.count:
        lines.append(
            f"Kept {kept.count} exported envelope(s) never acked, {human_size(kept.size)}, "
            f"exported since {result.oldest_exported_day}. Apply their ack, or export them "
            "again with --include-exported."
        )
    click.echo("\n".join(lines))


COMMANDS = (export_command, import_replies_command, apply_ack_command, purge_command)
