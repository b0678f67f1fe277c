"""Builders for the payouts tests: onboarded technicians, approved work, the sandbox's view."""
from __future__ import annotations

from marketplace.extensions import db
from marketplace.integrations import payments
from marketplace.manage import review
from marketplace.pay import ledger
from marketplace.pay.ledger import Kind
from marketplace.pay.payout_models import PayoutIntent
from marketplace.pay.rails_models import ConnectedAccount
from marketplace.pay.settings import PayFirmSettings
from tests.pay.books_helpers import submitted, taken


class Crash(BaseException):
    """A process dying at a chosen point: nothing below it runs, nothing catches it."""


def onboard(sandbox, tech) -> str:
    """A connected account for the technician with payouts enabled (as its webhook says)."""
    account = payments.gateway().create_connected_account(
        email=tech.user.email, ref=f"technician:{tech.id}", key=f"test-acct-{tech.id}")
    sandbox.complete_onboarding(account)
    db.session.add(ConnectedAccount(technician_id=tech.id, stripe_account_id=account,
                                    payouts_enabled=True, details_submitted=True))
    db.session.commit()
    return account


def set_terms(firm_id: int, *, terms: int = 0, auto_days: int = 7) -> None:
    db.session.merge(PayFirmSettings(firm_id=firm_id, auto_approve_days=auto_days,
                                     payment_terms_days=terms, platform_fee_bps=1000))
    db.session.commit()


def approved(sandbox, *, terms: int = 0, with_account: bool = True, budget: int = 20000,
             before_approval=None):
    """Funded, routed, accepted, worked, submitted and approved by the firm (committed)."""
    owner, tech, job = taken(budget=budget, funds=budget + 10000)
    set_terms(owner.firm.id, terms=terms)
    if before_approval is not None:
        before_approval(owner, job)
    sandbox.fund_platform(10_000_000)
    account = onboard(sandbox, tech) if with_account else None
    submitted(tech, job)
    review.approve(owner, job)
    db.session.commit()
    return owner, tech, job, account


def transfers_at_stripe(sandbox, assignment_id: int | None = None) -> list[dict]:
    found = sandbox.objects("transfer")
    if assignment_id is not None:
        found = [t for t in found if t.get("transfer_group") == f"assignment:{assignment_id}"]
    return found


def intent_of(assignment_id: int) -> PayoutIntent:
    db.session.expire_all()
    return db.session.query(PayoutIntent).filter_by(assignment_id=assignment_id).one()


def balanced() -> bool:
    return ledger.verify() == [] and all(v == 0 for v in ledger.trial_balance().values())


def tech_balances(tech_id: int) -> tuple[int, int, int]:
    return (ledger.balance_of(Kind.TECH_PAYABLE, tech_id),
            ledger.balance_of(Kind.TECH_IN_TRANSIT, tech_id),
            ledger.balance_of(Kind.TECH_PAID_OUT, tech_id))
