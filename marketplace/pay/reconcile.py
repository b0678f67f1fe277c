"""Reconciliation: our books against Stripe's balance transactions, every difference listed.

Transfers are matched one by one: each payout intent with a transfer id must appear at
Stripe as a `transfer` of the same amount, and each Stripe transfer must be one of
ours. Money in is matched in totals per kind (charges against succeeded top-ups,
refunds and dispute adjustments against what the top-ups record), and the ledger's
own trial balance must be zero. `flask pay reconcile` prints the report.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..core.progress import Progress, report
from ..extensions import db
from ..integrations import payments
from . import ledger
from .payout_models import TRANSFERRED, PayoutIntent
from .rails_models import TopUp, TopUpStatus


@dataclass(frozen=True)
class Difference:
    kind: str
    reference: str
    ledger_cents: int | None
    stripe_cents: int | None
    note: str


@dataclass
class Report:
    checked: int = 0
    matched: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences


def _ours() -> dict[str, PayoutIntent]:
    return {p.transfer_id: p for p in db.session.scalars(select(PayoutIntent).where(
        PayoutIntent.transfer_id.is_not(None)))}


def _funding_totals() -> dict[str, int]:
    """What our books say came in per Stripe kind, in cents (signed as Stripe signs them)."""
    succeeded = db.session.scalar(select(func.coalesce(func.sum(TopUp.amount_cents), 0)).where(
        TopUp.status == TopUpStatus.SUCCEEDED)) or 0
    refunded = db.session.scalar(select(func.coalesce(func.sum(TopUp.refunded_cents), 0))) or 0
    disputed = db.session.scalar(select(func.coalesce(func.sum(TopUp.disputed_cents), 0))) or 0
    reversed_ = db.session.scalar(select(func.coalesce(
        func.sum(PayoutIntent.reversed_cents), 0))) or 0
    return {"charge": int(succeeded), "refund": -int(refunded), "adjustment": -int(disputed),
            "transfer_refund": int(reversed_)}


def reconcile(progress: Progress | None = None) -> Report:
    """Compare; nothing is changed."""
    result = Report()
    stripe_rows = []
    for row in payments.gateway().balance_transactions():
        stripe_rows.append(row)
        if len(stripe_rows) % 100 == 0:
            report(progress, 0, len(stripe_rows) * 2, f"fetched {len(stripe_rows)} from Stripe")
    ours = _ours()
    totals: dict[str, int] = defaultdict(int)
    total = len(stripe_rows) + 1
    for done, row in enumerate(stripe_rows, 1):
        result.checked += 1
        if row.type == "transfer":
            intent = ours.pop(row.source or "", None)
            if intent is None:
                result.differences.append(Difference(
                    "transfer", row.source or row.id, None, -row.amount_cents,
                    "a transfer at Stripe that no payout intent records"))
            elif -row.amount_cents != intent.amount_cents:
                result.differences.append(Difference(
                    "transfer", row.source, intent.amount_cents, -row.amount_cents,
                    f"amounts differ (assignment {intent.assignment_id})"))
            else:
                result.matched += 1
        else:
            totals[row.type] += row.amount_cents
        report(progress, done, total, f"{len(result.differences)} differences")
    for transfer_id, intent in sorted(ours.items(), key=lambda item: item[1].id):
        if intent.status in TRANSFERRED:
            result.differences.append(Difference(
                "transfer", transfer_id, intent.amount_cents, None,
                f"recorded for assignment {intent.assignment_id}, missing at Stripe"))
    for kind, booked in _funding_totals().items():
        if booked != totals.get(kind, 0):
            result.differences.append(Difference(
                kind, "total", booked, totals.get(kind, 0), f"{kind} totals differ"))
    for currency, total_cents in ledger.trial_balance().items():
        if total_cents:
            result.differences.append(Difference(
                "ledger", currency, total_cents, None, "the trial balance is not zero"))
    report(progress, total, total, f"{len(result.differences)} differences")
    return result
