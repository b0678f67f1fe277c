"""The admins' finance desk: the trial balance, payouts stuck or failed, payables waiting."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from ..core import clock
from ..extensions import db
from . import ledger, payout_reversals
from .payables import Payable, PayableStatus
from .payout_models import InstantPayout, InstantStatus, IntentStatus, PayoutIntent

STUCK_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Desk:
    trial_balance: dict[str, int]
    stuck: list[PayoutIntent]
    failed: list[PayoutIntent]
    waiting: list[Payable]          # due, not transferred (no connected account yet)
    instant_failed: list[InstantPayout]
    sent: list[PayoutIntent]        # transferred (or being reversed): an admin may reverse

    @property
    def balanced(self) -> bool:
        return all(total == 0 for total in self.trial_balance.values())


def desk(limit: int = 100) -> Desk:
    now = clock.now()
    stuck = db.session.scalars(select(PayoutIntent).where(
        PayoutIntent.status == IntentStatus.PENDING,
        PayoutIntent.created_at <= now - STUCK_AFTER).order_by(PayoutIntent.id).limit(limit)).all()
    failed = db.session.scalars(select(PayoutIntent).where(
        PayoutIntent.status == IntentStatus.FAILED).order_by(PayoutIntent.id).limit(limit)).all()
    waiting = db.session.scalars(select(Payable).where(
        Payable.status == PayableStatus.PENDING, Payable.due_on < clock.today())
        .order_by(Payable.due_on, Payable.id).limit(limit)).all()
    instant_failed = db.session.scalars(select(InstantPayout).where(
        InstantPayout.status == InstantStatus.FAILED).order_by(InstantPayout.id.desc())
        .limit(limit)).all()
    return Desk(ledger.trial_balance(), list(stuck), list(failed), list(waiting),
                list(instant_failed), payout_reversals.reversible(limit))
