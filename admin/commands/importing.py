"""`import`: bring an export bundle into the vault and write the signed ack."""

from __future__ import annotations

from pathlib import Path

import click

from crypto.errors import CryptoError

from ..errors import AdminError
from ..importer import ImportResult, check_instance, import_bundle, scan_bundle
from ..transfer import check_ack_target, write_ack
from .common import (
    json_option,
    print_json,
    progress_bar,
    save,
    silent_option,
    unlocked,
    unlocked_vault_options,
)

EXIT_SOME_SKIPPED = 3


def _report(result: ImportResult, ack: Path | None, ack_wanted: bool) -> None:
    out = click
    if result.new_instance:
        out.echo(
            f"Instance {result.instance_id} is now trusted. Its key fingerprint is "
            f"{result.instance_fingerprint}: compare it with the server's."
        )
    if result.imported:
        tips = ", ".join(f"T{t}" for t in result.tips)
        out.echo(f"Imported {len(result.imported)} envelope(s) into tip(s) {tips}.")
    elif not result.already and not result.skipped:
        out.echo("The bundle holds no envelopes: nothing to import.")
    elif not result.skipped and result.stopped is None:
        out.echo(
            f"Nothing new: all {len(result.already)} envelope(s) of this bundle are already "
            "in the vault."
        )
    if result.already and result.imported:
        out.echo(f"{len(result.already)} envelope(s) were already in the vault.")
    for envelope_id, flags in result.flagged:
        out.echo(f"FLAGGED envelope {envelope_id}: " + "; ".join(flags))
    for envelope_id, reason in result.skipped:
        out.echo(f"SKIPPED envelope {envelope_id}: {reason}")
    for stray_id, reason in result.strays:
        out.echo(f"IGNORED {'entry ' + stray_id if stray_id else 'data'}: {reason}")
    if result.stray_count > len(result.strays):
        out.echo(f"... and {result.stray_count - len(result.strays)} more ignored entries.")
    if result.truncated:
        out.echo(
            "The bundle is truncated: the envelopes after the cut did not arrive. Copy the "
            "bundle again, or export again on the server, to bring them."
        )
    if result.skipped:
        out.echo(
            f"{len(result.skipped)} envelope(s) were skipped and are not in the ack: they stay "
            "on the server. Export them again later, or report the damage."
        )
    if ack is not None:
        out.echo(f"Ack for {len(result.in_vault)} envelope(s) written to {ack}.")
        out.echo("Carry it to the server: sealdrop apply-ack --instance DIR " + ack.name)
    elif ack_wanted:
        out.echo("No ack was written: no envelope of this bundle is in the vault.")
    elif result.in_vault:
        out.echo(
            "No ack written. To let the server delete these envelopes, "
            "import again with --ack-out FILE."
        )


@click.command(name="import")
@unlocked_vault_options
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--ack-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the signed ack (what the server may now delete) to this new file.",
)
@click.option(
    "--trust-new-instance",
    is_flag=True,
    help="Accept a bundle from a server other than the one this vault already knows.",
)
@click.option(
    "--backup-key",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also open envelopes with this recipient key file (a backup key from `init "
    "--backup-recipient`), e.g. after the laptop holding the old vault was lost.",
)
@silent_option
@json_option
def import_(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    bundle: Path,
    ack_out: Path | None,
    trust_new_instance: bool,
    backup_key: Path | None,
    silent: bool,
    as_json: bool,
) -> None:
    """Import an export bundle: open every envelope, re-encrypt it into the vault.

    Importing the same bundle again imports nothing and says so. Every envelope is checked
    against the SHA-256 in the bundle's signed manifest while it is read: one that does not
    match (swapped, damaged, cut off by a truncated bundle) or that is missing, out of
    order or repeated is reported by id and skipped; the others are imported. Exit code 0:
    all imported; 3: some were skipped or ignored; 1: nothing or only part was imported
    because of an error (see the message). Version 1 bundles are refused: export again
    from an upgraded server.

    The ack lists every envelope of this bundle whose hash matched and that is now in the
    vault (also those imported before), so a lost ack can be made again by importing the
    bundle again.

    \b
    Example:
        sealdrop-admin import --vault /media/vault bundle-2024-05-01.sdb --ack-out ack.sda
        sealdrop-admin import --vault /media/new-vault bundle.sdb --backup-key /media/usb/backup.key
    """
    if ack_out is not None:
        check_ack_target(ack_out)
    manifest = scan_bundle(bundle)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        new_instance = check_instance(vault, manifest, trust_new_instance)
        vault.recipient_key()
        extra = [vault.unlock_extra_recipient(backup_key)] if backup_key is not None else []
        if ack_out is not None:
            vault.signing_key()
        try:
            total = bundle.stat().st_size
        except OSError:
            total = 0  # the import itself explains what is wrong with the file
        with progress_bar(total, "Importing", silent or as_json) as advance:
            try:
                result = import_bundle(vault, bundle, manifest, new_instance, advance, extra)
            except OSError as exc:
                raise AdminError(
                    f"the import stopped ({exc.strerror}) and nothing of it was recorded. "
                    "Free some disk space and run the same import again."
                ) from exc
            except CryptoError as exc:
                # Only possible if the file changed after it was checked (e.g. a USB stick
                # pulled out): the vault keeps nothing of this run.
                raise AdminError(
                    f"the bundle changed while it was being imported ({exc}); nothing of this "
                    "import was recorded. Copy the bundle again and run the import again."
                ) from exc
        if result.stopped is not None:
            raise AdminError(
                f"{result.stopped}. {len(result.imported)} envelope(s) were imported and saved; "
                "no ack was written. Free some disk space and run the same import again: "
                "it continues where this one stopped."
            )
        ack_written = None
        if ack_out is not None and result.in_vault:
            write_ack(vault, manifest.instance_id, result.in_vault, ack_out)
            save(vault)
            ack_written = ack_out
    if as_json:
        print_json(
            {
                "instance_id": result.instance_id,
                "instance_fingerprint": result.instance_fingerprint,
                "new_instance": result.new_instance,
                "imported": result.imported,
                "already_imported": result.already,
                "skipped": [{"envelope_id": e, "reason": r} for e, r in result.skipped],
                "flagged": [{"envelope_id": e, "flags": f} for e, f in result.flagged],
                "ignored": [{"envelope_id": e, "reason": r} for e, r in result.strays],
                "ignored_count": result.stray_count,
                "truncated": result.truncated,
                "tips": result.tips,
                "ack": str(ack_written) if ack_written else None,
                "ack_envelopes": result.in_vault if ack_written else [],
            }
        )
    else:
        _report(result, ack_written, ack_out is not None)
    if result.skipped or result.stray_count:
        raise click.exceptions.Exit(EXIT_SOME_SKIPPED)
