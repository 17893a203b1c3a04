"""`case ...`: new, list, show, add, remove, status, grade, note, tag, export."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .. import cases as model
from ..drafts import edit_draft
from ..evidence import export_case
from ..inert import cell, terminal
from ..tips import check_paging, parse_tip_id
from .common import (
    CONTEXT,
    console,
    echo_not_shown,
    json_option,
    page_options,
    print_json,
    progress_bar,
    save,
    silent_option,
    unlocked,
    unlocked_vault_options,
)

STATUS_ALIASES = {"on hold": "on hold - source safety", "on-hold": "on hold - source safety"}


@click.group(context_settings=CONTEXT)
def case() -> None:
    """Cases: group tips, track status and grading, export evidence.

    \b
    Example:
        sealdrop-admin case new --vault /media/vault "Detentions in Kashgar, 2024"
        sealdrop-admin case add --vault /media/vault C1 T12 T13
    """


@case.command(name="new")
@unlocked_vault_options
@click.argument("title")
@json_option
def new(
    vault_dir: Path, passphrase_file: Path | None, actor: str, title: str, as_json: bool
) -> None:
    """Open a new case (status `new`) and print its number.

    \b
    Example:
        sealdrop-admin case new --vault /media/vault "Forced DNA collection, Hotan"
    """
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        case_id = model.new_case(vault, title)
        save(vault)
    if as_json:
        print_json({"case": case_id, "title": title.strip(), "status": "new"})
    else:
        click.echo(terminal(f"Opened case C{case_id}: {title.strip()}"))


@case.command(name="list")
@unlocked_vault_options
@page_options
@json_option
def list_(
    vault_dir: Path, passphrase_file: Path | None, actor: str, page: int, limit: int, as_json: bool
) -> None:
    """List cases, newest first, with status, grade, tags and number of tips.

    \b
    Example:
        sealdrop-admin case list --vault /media/vault
        sealdrop-admin case list --vault /media/vault --page 2
    """
    check_paging(page, limit)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        listing = model.cases_page(vault, page, limit)
    rows = listing["cases"]
    if as_json:
        print_json(listing)
        return
    if not rows:
        click.echo("No cases yet. Open one with `sealdrop-admin case new`.")
        return
    table = Table()
    for col in ("Case", "Title", "Status", "Grade", "Tips", "Tags"):
        table.add_column(col, overflow="fold")
    for r in rows:
        status = r["status"] + (f" ({r['closing_reason']})" if r["closing_reason"] else "")
        table.add_row(
            f"C{r['case']}",
            cell(r["title"]),
            cell(status),
            r["grade"] or "-",
            str(r["tips"]),
            cell(", ".join(r["tags"])),
        )
    console().print(table)
    again = "sealdrop-admin case list" + (f" --limit {limit}" if limit != 50 else "")
    echo_not_shown(listing, "cases", again)


@case.command(name="show")
@unlocked_vault_options
@click.argument("case_ref", metavar="CASE")
@json_option
def show(
    vault_dir: Path, passphrase_file: Path | None, actor: str, case_ref: str, as_json: bool
) -> None:
    """Show a case: tips, status history, grading, notes and tags.

    \b
    Example:
        sealdrop-admin case show --vault /media/vault C1
    """
    case_id = model.parse_case_id(case_ref)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        detail = model.case_detail(vault, case_id)
    if as_json:
        print_json(detail)
        return
    out = console()
    out.print(cell(f"Case C{case_id}: {detail['title']}", style="bold"))
    reason = f" ({detail['closing_reason']})" if detail["closing_reason"] else ""
    out.print(cell(f"Status: {detail['status']}{reason}"))
    grade = detail["grade"]
    if grade:
        out.print(
            f"Grade: {grade} (source {model.RELIABILITY[grade[0]]}; "
            f"information {model.CREDIBILITY[grade[1]]})"
        )
    else:
        out.print("Grade: not graded")
    out.print(cell("Tags: " + (", ".join(detail["tags"]) or "none")))
    out.print("Tips: " + (", ".join(f"T{t}" for t in detail["tips"]) or "none"))
    table = Table(title="Status history", title_justify="left")
    for col in ("Time", "Who", "Status", "Reason"):
        table.add_column(col)
    for h in detail["status_history"]:
        table.add_row(cell(h["time"]), cell(h["actor"]), cell(h["status"]), cell(h["reason"]))
    out.print(table)
    for note in detail["notes"]:
        out.print(cell(f"Note {note['time']} ({note['actor']}): {note['text']}"))


@case.command(name="add")
@unlocked_vault_options
@click.argument("case_ref", metavar="CASE")
@click.argument("tips", metavar="TIP...", nargs=-1, required=True)
def add(
    vault_dir: Path, passphrase_file: Path | None, actor: str, case_ref: str, tips: tuple[str, ...]
) -> None:
    """Put one or more tips in a case (a tip may be in several cases).

    \b
    Example:
        sealdrop-admin case add --vault /media/vault C1 T12 T13
    """
    case_id = model.parse_case_id(case_ref)
    tip_ids = [parse_tip_id(t) for t in tips]
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        added = [t for t in tip_ids if model.add_tip(vault, case_id, t)]
        save(vault)
    for t in tip_ids:
        state = "added to" if t in added else "was already in"
        click.echo(f"T{t} {state} case C{case_id}.")


@case.command(name="remove")
@unlocked_vault_options
@click.argument("case_ref", metavar="CASE")
@click.argument("tip")
def remove(
    vault_dir: Path, passphrase_file: Path | None, actor: str, case_ref: str, tip: str
) -> None:
    """Take a tip out of a case (the tip stays in the vault).

    \b
    Example:
        sealdrop-admin case remove --vault /media/vault C1 T13
    """
    case_id, tip_id = model.parse_case_id(case_ref), parse_tip_id(tip)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        model.remove_tip(vault, case_id, tip_id)
        save(vault)
    click.echo(f"T{tip_id} removed from case C{case_id}.")


@case.command(name="status")
@unlocked_vault_options
@click.argument("case_ref", metavar="CASE")
@click.argument("status")
@click.option(
    "--reason",
    type=click.Choice(model.CLOSING_REASONS),
    help="Why the case is closed (required with status closed).",
)
def status(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    case_ref: str,
    status: str,
    reason: str | None,
) -> None:
    """Change a case's status; the history is kept.

    STATUS is one of: new, triaged, verifying, corroborated, actioned, closed,
    "on hold - source safety" (or just "on-hold").

    \b
    Example:
        sealdrop-admin case status --vault /media/vault C1 verifying
        sealdrop-admin case status --vault /media/vault C1 closed --reason duplicate
    """
    case_id = model.parse_case_id(case_ref)
    wanted = STATUS_ALIASES.get(status.strip().lower(), status.strip().lower())
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        model.set_status(vault, case_id, wanted, reason)
        save(vault)
    click.echo(terminal(f"Case C{case_id} is now {wanted}" + (f" ({reason})." if reason else ".")))


@case.command(name="grade")
@unlocked_vault_options
@click.argument("case_ref", metavar="CASE")
@click.argument("grade_code", metavar="GRADE")
def grade(
    vault_dir: Path, passphrase_file: Path | None, actor: str, case_ref: str, grade_code: str
) -> None:
    """Grade a case with the Admiralty code: source reliability A-F + credibility 1-6.

    \b
    Example:
        sealdrop-admin case grade --vault /media/vault C1 B2
    """
    case_id = model.parse_case_id(case_ref)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        rel, cred = model.grade(vault, case_id, grade_code)
        save(vault)
    click.echo(
        f"Case C{case_id} graded {rel}{cred}: source {model.RELIABILITY[rel]}, "
        f"information {model.CREDIBILITY[cred]}."
    )


@case.command(name="note")
@unlocked_vault_options
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--text", help="The note (if absent, your $EDITOR opens on a draft kept in memory only)."
)
def note(
    vault_dir: Path, passphrase_file: Path | None, actor: str, case_ref: str, text: str | None
) -> None:
    """Add a note to a case.

    \b
    Example:
        sealdrop-admin case note --vault /media/vault C1 --text "Called the lawyer; confirms date."
    """
    case_id = model.parse_case_id(case_ref)
    if text is None:
        text = edit_draft("\n# Write the note above this line.\n", "note", "--text") or ""
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        model.add_note(vault, case_id, text)
        save(vault)
    click.echo(f"Note added to case C{case_id}.")


@case.command(name="tag")
@unlocked_vault_options
@click.argument("case_ref", metavar="CASE")
@click.option("--add", "add_tags", multiple=True, help="Tag to add (repeatable).")
@click.option("--remove", "remove_tags", multiple=True, help="Tag to remove (repeatable).")
def tag(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    case_ref: str,
    add_tags: tuple[str, ...],
    remove_tags: tuple[str, ...],
) -> None:
    """Add or remove tags on a case; prints the case's tags.

    \b
    Example:
        sealdrop-admin case tag --vault /media/vault C1 --add uyghur --add xinjiang
    """
    case_id = model.parse_case_id(case_ref)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        tags = model.tag(vault, case_id, list(add_tags), list(remove_tags))
        save(vault)
    click.echo(terminal(f"Case C{case_id} tags: " + (", ".join(tags) or "none")))


@case.command(name="export")
@unlocked_vault_options
@click.argument("case_ref", metavar="CASE")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="New folder to create for the evidence package (must not exist).",
)
@click.option(
    "--strip-metadata",
    is_flag=True,
    help="Also write metadata-stripped copies into cleaned/ (mat2, else Pillow; sandboxed).",
)
@silent_option
@json_option
def export(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    case_ref: str,
    out: Path,
    strip_metadata: bool,
    silent: bool,
    as_json: bool,
) -> None:
    """Export a case as evidence: report (HTML + Markdown), original files, SHA256SUMS
    and the custody log excerpt.

    Originals go into originals/ exactly as received, checked against the SHA-256
    recorded at intake; --strip-metadata adds cleaned copies in cleaned/, made in the
    bubblewrap sandbox (docs/admin.md).

    \b
    Example:
        sealdrop-admin case export --vault /media/vault C1 --out /media/usb/case-C1
    """
    case_id = model.parse_case_id(case_ref)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        detail = model.case_detail(vault, case_id)
        total = 0
        for tip in detail["tips"]:
            total += vault.db.execute(
                "SELECT coalesce(sum(size), 0) FROM envelopes WHERE tip_id = ?", (tip,)
            ).fetchone()[0]
        with progress_bar(int(total), "Exporting", silent or as_json) as advance:
            summary = export_case(vault, case_id, out, strip_metadata, advance)
        save(vault)
    if as_json:
        print_json(summary)
        return
    click.echo(terminal(f"Exported case C{case_id} to {out} ({summary['files']} files)."))
    click.echo(f"SHA256SUMS: {summary['sha256sums']}")
    click.echo(terminal(f"Metadata stripping: {summary['metadata_stripping']}"))
    for path in summary["not_cleaned"]:
        click.echo(terminal(f"Not cleaned (see report.md): {path}"))
