"""`flask find reindex` rebuilds the match index; `flask find import` creates assignments
from a CSV file (the same import as the upload page). Each shows a progress bar on stderr
when it is a terminal and ends with a summary line."""
from __future__ import annotations

import time
from pathlib import Path

import click
from sqlalchemy import select

from ..web.ui import plural


@click.group("find")
def find() -> None:
    """Assignments and matching."""


@find.command("reindex")
def reindex() -> None:
    """Rebuild the match index from the technicians' profiles and skills."""
    from ..core.progress import ProgressBar
    from .match_index import rebuild_index
    started = time.monotonic()
    with ProgressBar("Rebuilding the match index") as bar:
        rows = rebuild_index(progress=bar)
    click.echo(f"match index rebuilt: {rows} rows for {bar.total} "
               f"{plural(bar.total, 'technician')} in {time.monotonic() - started:.2f} s")


@find.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--firm-user", "email", required=True,
              help="The email of the firm member the assignments are created as.")
@click.option("--publish", is_flag=True, help="Publish the created assignments.")
@click.option("--allow-duplicates", is_flag=True,
              help="Create rows that repeat another's title, address and time.")
def import_command(file: Path, email: str, publish: bool, allow_duplicates: bool) -> None:
    """Create one assignment per good row of a CSV file; bad rows are listed by line."""
    from ..accounts.models import User
    from ..accounts.services import normalise_email
    from ..core.progress import ProgressBar
    from ..errors import ValidationFailed
    from ..extensions import db
    from .csv_import import import_csv
    try:
        address = normalise_email(email, "firm_user")
    except ValidationFailed as exc:
        raise click.BadParameter(exc.fields.get("firm_user") or exc.message,
                                 param_hint="'--firm-user'") from None
    user = db.session.scalar(select(User).where(User.email == address))
    if user is None:
        raise click.BadParameter(f"No account with the email {address}.",
                                 param_hint="'--firm-user'")
    started = time.monotonic()
    with ProgressBar(f"Importing {file.name}") as bar:
        report = import_csv(user, file.read_bytes(), publish=publish,
                            allow_duplicates=allow_duplicates, progress=bar)
    for note in report.notes:
        click.echo(note, err=True)
    for line, fields in report.errors:
        for name, text in fields.items():
            click.echo(f"line {line}: {name}: {text}", err=True)
    for line, text in report.warnings:
        click.echo(f"line {line}: {text}", err=True)
    made, bad, skipped = len(report.created), len(report.errors), len(report.warnings)
    rows = made + bad + skipped
    click.echo(f"{file.name}: {rows} {plural(rows, 'row')}, {made} "
               f"{plural(made, 'assignment')} created ({'published' if publish else 'drafts'}), "
               f"{bad} {plural(bad, 'row needs', 'rows need')} fixing"
               + (f", {skipped} {plural(skipped, 'duplicate')} skipped" if skipped else "")
               + f" in {time.monotonic() - started:.2f} s")
