"""Firm A's assignments, templates and pools; technician A's pool membership."""
from marketplace.extensions import db
from marketplace.find.matching import rebuild_index


def build(world: dict) -> None:
    # Keep the derived match index in step from the start, so a technician's own
    # no-op profile write does not look like a change to the snapshot.
    rebuild_index()
    db.session.commit()


PARAMS: dict = {}
