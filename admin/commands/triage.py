"""Triage: `inbox`, `show`, `open`, `search`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from .. import custody
from ..content import copy_out, looks_like_image, read_small, safe_filename, suffix_of
from ..errors import AdminError
from ..importer import answer_text
from ..inert import cell, terminal
from ..metadata import image_metadata
from ..tips import (
    check_paging,
    find_file,
    human_size,
    inbox_page,
    parse_tip_id,
    search_page,
    tip_detail,
)
from .common import (
    console,
    echo_not_shown,
    json_option,
    page_options,
    print_json,
    save,
    unlocked,
    unlocked_vault_options,
)


@click.command(name="inbox")
@unlocked_vault_options
@click.option("--all", "include_all", is_flag=True, help="Also list tips already in a case.")
@page_options
@click.option(
    "--before",
    metavar="TIP",
    help="Start below this tip (e.g. T1200), instead of counting pages: as fast at any depth.",
)
@json_option
def inbox_cmd(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    include_all: bool,
    page: int,
    limit: int,
    before: str | None,
    as_json: bool,
) -> None:
    """List new tips (not yet in any case), newest first, a page at a time.

    Within a page, tips are grouped by source. The last line says how many are not shown
    and how to see the next page.

    \b
    Example:
        sealdrop-admin inbox --vault /media/vault
        sealdrop-admin inbox --vault /media/vault --page 2 --limit 100
        sealdrop-admin inbox --vault /media/vault --all --json
    """
    before_tip = parse_tip_id(before) if before is not None else None
    check_paging(page, limit)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        listing = inbox_page(vault, include_all, page, limit, before_tip)
    tips = listing["tips"]
    if as_json:
        print_json(listing)
        return
    if not tips:
        if listing["total"]:
            click.echo(f"No tips on this page ({listing['total']:,} in all): try --page 1.")
        else:
            click.echo("No new tips." if not include_all else "No tips in the vault yet.")
        return
    out = console()
    groups: dict[str, list[dict[str, Any]]] = {}
    for tip in tips:  # newest first; a source's table comes where its newest tip is
        groups.setdefault(tip["source"], []).append(tip)
    for source, group in groups.items():
        table = Table(title=cell(f"Source {source[:12]}"), title_justify="left")
        for col in ("Tip", "Day", "Size", "Files", "First words", "Answers"):
            table.add_column(col, overflow="fold")
        for tip in group:
            table.add_row(
                f"T{tip['tip']}",
                cell(tip["received"]),
                human_size(tip["size"]),
                str(tip["files"]),
                cell(tip["first_words"]),
                cell(tip["answers_summary"]),
            )
        out.print(table)
    noun = "tips" if include_all else "new tips"
    again = "sealdrop-admin inbox" + (" --all" if include_all else "")
    if limit != 50:
        again += f" --limit {limit}"
    echo_not_shown(listing, noun, again)


def _with_image_metadata(vault: Any, detail: dict[str, Any]) -> None:
    """Add photo metadata; a damaged stored file is reported, not fatal, so the rest shows."""
    for f in detail["files"]:
        f["image"] = None
        f["problem"] = None
        if looks_like_image(f):
            try:
                data = read_small(vault, f)
            except AdminError as exc:
                f["problem"] = exc.message
                continue
            if data is not None:
                f["image"], why = image_metadata(data, suffix_of(f))
                f["problem"] = f"photo metadata not read: {why}" if why else None


@click.command()
@unlocked_vault_options
@click.argument("tip")
@json_option
def show(
    vault_dir: Path, passphrase_file: Path | None, actor: str, tip: str, as_json: bool
) -> None:
    """Show one tip: narrative, answers, files (type, size, SHA-256, photo metadata).

    Viewing a tip is recorded in the custody log.

    \b
    Example:
        sealdrop-admin show --vault /media/vault T12
    """
    tip_id = parse_tip_id(tip)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        detail = tip_detail(vault, tip_id)
        _with_image_metadata(vault, detail)
        custody.append(vault.db, vault.actor, "view", f"tip:{tip_id}")
        save(vault)
    if as_json:
        print_json(detail)
        return
    out = console()
    out.print(
        cell(f"Tip T{tip_id}  received {detail['received']}  source {detail['source']}", "bold")
    )
    if detail["cases"]:
        out.print("In cases: " + ", ".join(f"C{c}" for c in detail["cases"]))
    out.print(cell("\nNarrative", "bold"))
    out.print(cell(detail["narrative"] or "(no narrative)"))
    if detail["answers"]:
        table = Table(title="Answers", title_justify="left")
        table.add_column("Question")
        table.add_column("Answer", overflow="fold")
        for question, value in sorted(detail["answers"].items()):
            table.add_row(cell(question), cell(answer_text(value)))
        out.print(table)
    if detail["files"]:
        table = Table(title="Files", title_justify="left")
        for col in ("File", "Type", "Size", "SHA-256", "Photo metadata"):
            table.add_column(col, overflow="fold")
        for f in detail["files"]:
            image = f["image"] or {}
            gps = image.get("gps")
            meta = ""
            if image:
                where = f"{gps['latitude']}, {gps['longitude']}" if gps else "-"
                meta = (
                    f"taken: {image.get('date_taken') or '-'}\n"
                    f"GPS: {where}\n"
                    f"camera: {image.get('camera') or '-'}"
                )
            if f["problem"]:
                meta = f"PROBLEM: {f['problem']}"
            table.add_row(
                cell(f["filename"]),
                cell(f["content_type"] or "?"),
                human_size(f["size"]),
                cell(f["sha256"]),
                cell(meta),
            )
        out.print(table)


@click.command(name="open")
@unlocked_vault_options
@click.argument("tip")
@click.argument("file")
@click.option(
    "--to",
    "to_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write the plaintext copy into (outside the vault).",
)
def open_cmd(
    vault_dir: Path, passphrase_file: Path | None, actor: str, tip: str, file: str, to_dir: Path
) -> None:
    """Write a plaintext copy of one attachment into a folder (never overwrites).

    FILE is the file name shown by `show` (or its envelope id). The copy is checked
    against the SHA-256 recorded at import. This is recorded in the custody log.

    \b
    Example:
        sealdrop-admin open --vault /media/vault T12 photo.jpg --to ~/work
    """
    tip_id = parse_tip_id(tip)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        envelope = find_file(vault, tip_id, file)
        if not to_dir.is_dir():
            raise AdminError(f"the folder {to_dir} does not exist. Create it first.")
        root = vault.root.resolve()
        if to_dir.resolve() == root or root in to_dir.resolve().parents:
            raise AdminError("--to is inside the vault: plaintext must stay out of it.")
        name = safe_filename(envelope["filename"] or "", f"{envelope['envelope_id']}.bin")
        target = to_dir / name
        copy_out(vault, envelope, target)
        custody.append(
            vault.db,
            vault.actor,
            "open",
            f"tip:{tip_id}",
            envelope_id=envelope["envelope_id"],
            to=str(target),
            sha256=envelope["sha256"],
        )
        try:
            save(vault)
        except AdminError:
            target.unlink(missing_ok=True)
            raise
    click.echo(terminal(f"Wrote {target} (SHA-256 {envelope['sha256']}, verified)."))


@click.command(name="search")
@unlocked_vault_options
@click.argument("text")
@click.option(
    "--limit", type=int, default=50, show_default=True, help="Most tips to show (1 to 1000)."
)
@click.option(
    "--before",
    type=int,
    metavar="N",
    help="Go on below this point (printed as `--before N` at the end of the last page).",
)
@json_option
def search_cmd(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    text: str,
    limit: int,
    before: int | None,
    as_json: bool,
) -> None:
    """Find tips whose narrative or answers contain TEXT (Chinese, Uyghur, ... too).

    Newest tips first. TEXT of 3 or more characters is looked up in the full-text index.
    One or two characters (e.g. 新疆) cannot be: they are looked for in the newest
    20,000 texts per page, and the last line says how to go on into older ones.

    \b
    Example:
        sealdrop-admin search --vault /media/vault 转化班
        sealdrop-admin search --vault /media/vault "police station" --json
    """
    check_paging(1, limit)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        found = search_page(vault, text, limit, before)
        save(vault)
    hits = found["hits"]
    if as_json:
        print_json({**found, "query": text})
        return
    more = found["next_before"]
    again = f"sealdrop-admin search {shlex.quote(text)}" + (
        f" --limit {limit}" if limit != 50 else ""
    )
    if not hits:
        if more is not None:
            click.echo(
                terminal(
                    f"No tip among the newest texts contains {text!r}. "
                    f"Older ones: {again} --before {more}"
                )
            )
        else:
            click.echo(terminal(f"No tip contains {text!r}."))
        return
    table = Table()
    for col in ("Tip", "Found in", "Text"):
        table.add_column(col, overflow="fold")
    for hit in hits:
        table.add_row(f"T{hit['tip']}", cell(", ".join(hit["fields"])), cell(hit["snippet"]))
    console().print(table)
    if more is not None:
        click.echo(terminal(f"There may be more. Next page: {again} --before {more}"))
