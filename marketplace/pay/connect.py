"""Technician onboarding to Stripe Connect and what the platform knows of it.

A technician's connected account is created on their first "Set up payouts" and they
finish onboarding on Stripe's hosted pages (an Account Link; a stale link sends them
to the refresh URL, which makes a new one). Whether the account can receive payouts
is learnt ONLY from verified `account.updated` webhooks, never from the return URL.
The platform keeps the account id and its payout status, nothing of the bank.

Creating the account and its link are the interactive exception to "nothing leaves
before commit": the person waits for the link. The creation's idempotency key is the
technician's, so a retry after a rolled-back request finds the same account.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from ..accounts.models import User
from ..core import audit, clock
from ..core.actions import Action
from ..errors import PermissionDenied, ValidationFailed
from ..extensions import db
from ..integrations import payments
from ..notifications.services import notify
from .rails_models import ConnectedAccount

# Stripe's requirement names, as a technician reads them.
REQUIREMENT_LABELS = {
    "external_account": "a bank account for payouts",
    "individual.dob.day": "your date of birth", "individual.ssn_last_4": "the last 4 of your SSN",
    "individual.first_name": "your legal name", "individual.last_name": "your legal name",
    "tos_acceptance.date": "accepting Stripe's terms", "tos_acceptance.ip": "accepting Stripe's terms",
    "business_profile.url": "a profile link",
    "individual.verification.document": "an identity document",
}


@dataclass(frozen=True)
class PayoutStatus:
    """What a technician is told about getting paid."""
    has_account: bool
    payouts_enabled: bool
    requirements: list[str]

    @property
    def payable(self) -> bool:
        return self.payouts_enabled

    @property
    def summary(self) -> str:
        if self.payouts_enabled:
            return "Payouts are on: approved work is paid to your bank account."
        if not self.has_account:
            return "Set up payouts with Stripe to get paid. You can take work meanwhile."
        if self.requirements:
            return "Stripe still needs " + ", ".join(self.requirements) + \
                " before you can be paid."
        return "Stripe is checking your details; payouts switch on as soon as it confirms."


def _technician_of(user: User):
    if user is None or not user.is_technician or user.technician is None:
        raise PermissionDenied("Payout setup is for technicians.")
    return user.technician


def account_of(technician_id: int) -> ConnectedAccount | None:
    return db.session.scalar(select(ConnectedAccount).where(
        ConnectedAccount.technician_id == technician_id))


def status_of(technician_id: int) -> PayoutStatus:
    row = account_of(technician_id)
    if row is None:
        return PayoutStatus(False, False, [])
    labels = list(dict.fromkeys(REQUIREMENT_LABELS.get(r, r.replace("_", " "))
                                for r in row.requirements_due or []))
    return PayoutStatus(True, row.payouts_enabled, labels)


def payout_accounts(technician_ids: list[int]) -> dict[int, str]:
    """Technician id -> connected account id, for those who can receive payouts now."""
    if not technician_ids:
        return {}
    return dict(db.session.execute(select(
        ConnectedAccount.technician_id, ConnectedAccount.stripe_account_id).where(
        ConnectedAccount.technician_id.in_(technician_ids),
        ConnectedAccount.payouts_enabled.is_(True))).all())


def technician_for_account(stripe_account_id: str) -> int | None:
    return db.session.scalar(select(ConnectedAccount.technician_id).where(
        ConnectedAccount.stripe_account_id == stripe_account_id))


COUNTRIES = ("US",)


def ensure_account(user: User, country: str | None = None) -> ConnectedAccount:
    """The technician's connected account, created at Stripe on first use (in the
    country of their bank: Stripe cannot change it later)."""
    technician = _technician_of(user)
    row = account_of(technician.id)
    if row is not None:
        return row
    if country not in COUNTRIES:
        raise ValidationFailed.field("country", "Payouts go to US bank accounts for now.")
    account_id = payments.gateway().create_connected_account(
        email=user.email, ref=f"technician:{technician.id}", country=country,
        key=f"connect:technician:{technician.id}")
    row = ConnectedAccount(technician_id=technician.id, stripe_account_id=account_id,
                           requirements_due=["external_account"])
    db.session.add(row)
    db.session.flush()
    audit.record(Action.PAYOUT_ACCOUNT_CREATED, row, actor=user,
                 after={"stripe_account_id": account_id})
    return row


def onboarding_link(user: User, *, refresh_url: str, return_url: str,
                    country: str | None = None) -> str:
    """A fresh Account Link to Stripe's hosted onboarding (each call makes a new one)."""
    row = ensure_account(user, country)
    return payments.gateway().account_link(
        row.stripe_account_id, refresh_url=refresh_url, return_url=return_url,
        key=f"account_link:{row.stripe_account_id}:{uuid.uuid4().hex}")


def apply_account_update(obj, account: str | None) -> None:
    """`account.updated` (verified): read the account's current state from Stripe and keep
    it. Reading rather than trusting the event's snapshot makes the arrival order of
    several updates irrelevant: whichever comes last, the state kept is Stripe's now."""
    account_id = obj["id"] if obj is not None else account
    row = db.session.scalar(select(ConnectedAccount).where(
        ConnectedAccount.stripe_account_id == account_id).with_for_update())
    if row is None:
        return
    state = payments.gateway().retrieve_account(account_id)
    due = sorted(state.requirements_due)
    if (row.payouts_enabled, row.details_submitted, sorted(row.requirements_due or [])) == \
            (state.payouts_enabled, state.details_submitted, due):
        return
    before = {"payouts_enabled": row.payouts_enabled, "requirements_due": row.requirements_due}
    changed = db.session.execute(update(ConnectedAccount).where(
        ConnectedAccount.id == row.id, ConnectedAccount.version == row.version).values(
        payouts_enabled=state.payouts_enabled, details_submitted=state.details_submitted,
        requirements_due=due, updated_at=clock.now(), version=row.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if changed:
        db.session.expire(row)
        if state.payouts_enabled != before["payouts_enabled"]:
            _tell_technician(row.technician_id, state.payouts_enabled)
        audit.record(Action.PAYOUT_ACCOUNT_UPDATED, subject_type="pay_connected_accounts",
                     subject_id=row.id, before=before,
                     after={"payouts_enabled": state.payouts_enabled, "requirements_due": due})


def _tell_technician(technician_id: int, enabled: bool) -> None:
    from ..accounts.models import TechnicianProfile
    user = db.session.get(TechnicianProfile, technician_id).user
    if enabled:
        notify(user, "account.payouts_on", "Payouts are on",
               "Stripe has confirmed your details: approved work is paid to your bank.",
               link="/pay/payout-setup")
    else:
        notify(user, "account.payouts_paused", "Payouts are paused",
               status_of(technician_id).summary, link="/pay/payout-setup")
