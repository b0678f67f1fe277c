"""Signal subscribers that keep find's derived data in step with other stages."""
from __future__ import annotations

from ..signals import credential_approved, credentials_lapsed, technician_changed

_connected = False


def _on_technician_changed(technician_id, **_):
    from .match_index import reindex_technician
    reindex_technician(technician_id)


def _on_credentials_lapsed(_sender=None, *, pairs, on, **_):
    from .pools import remove_lapsed_members
    remove_lapsed_members(pairs, on)


def _on_credential_approved(_sender=None, *, technician_id, credential_type_id, **_):
    from .pools import reinstate_members
    reinstate_members(technician_id, credential_type_id)


def connect() -> None:
    """Idempotent: several apps (tests) share the module-level signals."""
    global _connected
    if _connected:
        return
    technician_changed.connect(_on_technician_changed, weak=False)
    credentials_lapsed.connect(_on_credentials_lapsed, weak=False)
    credential_approved.connect(_on_credential_approved, weak=False)
    _connected = True
