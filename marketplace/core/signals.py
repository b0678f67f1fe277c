"""Named signals that let an earlier stage tell later ones something changed.

The import direction is accounts <- verify <- find <- engage <- ...; a stage
never imports a later one, so it announces through these instead. Signals are
sent inside the transaction; subscribers act in it. A stage subscribes for
one app with `subscribe(app, signal, receiver)` in its `init_app` (kept in
the app's hook registry), so apps never share subscribers.
"""
from __future__ import annotations

from typing import Callable

from blinker import NamedSignal, Namespace
from flask import Flask, has_app_context

from .hooks import hooks

_signals = Namespace()


def _hook_name(signal: NamedSignal) -> str:
    return f"signal:{signal.name}"


def subscribe(app: Flask, signal: NamedSignal, receiver: Callable[..., None]) -> None:
    hooks(app).add(_hook_name(signal), receiver)


def _dispatch(signal: NamedSignal):
    def receive(sender, **kwargs):
        if not has_app_context():
            return
        for receiver in hooks().get(_hook_name(signal)):
            receiver(sender, **kwargs)
    return receive

# sender: technician id. Emitted after skills, location, status or rate change.
# A set-based change (the sweep's suspensions) sends once for many technicians:
# sender None, technician_ids=list[int]. Subscribers accept both forms.
technician_changed = _signals.signal("technician-changed")

# Emitted by verify when what a technician holds of a type may cover less: inside
# the transaction that expires credentials (sweep), and on every review (an
# approval superseding the one before, possibly with lower coverage; a rejection).
# kwargs: pairs=list[(technician_id, credential_type_id)], on=date.
# Later stages subscribe set-based and re-check compliance on `on`, keeping whoever
# still complies: find drops pool memberships whose pool requires that type; engage
# returns future assignments to routing and closes live offers and counteroffers.
credentials_lapsed = _signals.signal("credentials-lapsed")

# Emitted by verify when an admin approves a credential (incl. a renewal).
# kwargs: technician_id=int, credential_type_id=int.
# find reinstates the technician to pools they were removed from for it.
credential_approved = _signals.signal("credential-approved")

# sender: the assignment. Sent by find's lifecycle for every transition, inside
# the transaction: kwargs from_state, to_state (AssignmentStatus), actor, and
# the transition's details (action, and what the caller passed).
assignment_transitioned = _signals.signal("assignment-transitioned")

# sender: the assignment. Sent by manage when the firm approves the work, inside the
# transaction: kwargs actor, amounts (labour_cents, expenses_cents, total_cents,
# currency, seconds_on_site). Pay and rate subscribe; manage does not know them.
assignment_approved = _signals.signal("assignment-approved")

# sender: the change request (an expense or a budget increase). Sent by manage when the
# firm approves one, inside the transaction: kwargs assignment, actor. Pay reserves more.
change_approved = _signals.signal("change-approved")

for _signal in (technician_changed, credentials_lapsed, credential_approved,
                assignment_transitioned, assignment_approved, change_approved):
    _signal.connect(_dispatch(_signal), weak=False)
