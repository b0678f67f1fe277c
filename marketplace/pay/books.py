"""The ledger, reserves and approval to payable: wiring.

Routing (publishing) secures the budget, acceptance and approved changes secure more,
cancelling releases the reserve less a late fee, approval settles it into a payable."""
from __future__ import annotations

from flask import Flask

from ..core.signals import (assignment_approved, assignment_transitioned, change_approved,
                            subscribe)
from ..find.lifecycle import AssignmentStatus as S


def _on_transition(assignment, *, from_state, to_state, **_details) -> None:
    from . import reserves
    if to_state == S.PUBLISHED and from_state == S.DRAFT:
        reserves.reserve(assignment, assignment.budget_cents, f"reserve:{assignment.id}:publish",
                         memo=f"Secured for {assignment.title}")
    elif to_state == S.ASSIGNED:
        agreed = (assignment.agreed_price_cents or assignment.budget_cents) \
            + (assignment.agreed_expenses_cents or 0)
        more = agreed - reserves.reserved_for(assignment)
        if more > 0:   # the technician accepted terms above the budget secured
            reserves.reserve(assignment, more, f"reserve:{assignment.id}:v{assignment.version}",
                             memo=f"Agreed terms of {assignment.title}", required=False)
    elif to_state == S.CANCELLED:
        _release_cancelled(assignment)


def _release_cancelled(assignment) -> None:
    from ..engage.backfill import late_cancellation_fee
    from . import approval, reserves
    fee = late_cancellation_fee(assignment)
    tx, paid = reserves.release(assignment, f"release:{assignment.id}:cancelled",
                                memo=f"Cancelled: {assignment.title}", fee_cents=fee,
                                technician_id=assignment.assignee_id)
    if paid:
        approval.record_cancellation_fee(assignment, paid, assignment.assignee_id, tx.id)


def _on_change_approved(change, *, assignment, actor=None, **_details) -> None:
    from . import reserves
    reserves.reserve(assignment, change.amount_cents,
                     f"reserve:{assignment.id}:change:{change.id}",
                     memo=f"{change.kind.label} on {assignment.title}")


def _on_approved(assignment, *, amounts, actor=None, **_details) -> None:
    from .approval import record_approval
    record_approval(assignment, amounts, auto=actor is None)


def init_app(app: Flask) -> None:
    from . import books_tasks, books_views, cli, ledger, payables, settings  # noqa: F401
    cli.init_app(app)
    books_views.init_app(app)
    books_tasks.init_app(app)
    subscribe(app, assignment_transitioned, _on_transition)
    subscribe(app, change_approved, _on_change_approved)
    subscribe(app, assignment_approved, _on_approved)
