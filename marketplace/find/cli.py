"""`flask find reindex`: rebuild the match index from the source tables."""
from __future__ import annotations

import click


@click.group("find")
def find() -> None:
    """Assignments and matching."""


@find.command("reindex")
def reindex() -> None:
    from .match_index import rebuild_index
    rows = rebuild_index()
    click.echo(f"match index rebuilt: {rows} rows")
