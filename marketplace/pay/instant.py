"""Instant Payouts: a technician takes their available balance now, at exactly Stripe's fee.

The quote reads the connected account's available balance and Stripe's instant fee for
it (integrations/payments, the one place that states it): the technician sees the
amount, the fee in cents, what arrives and when, before confirming. There is no markup:
the fee on the quote is the fee Stripe takes, and a confirmation whose fee no longer
matches a fresh quote is refused and quoted again.

Like a transfer, the payout row is written and committed first, under the key Stripe
gets; the call happens after commit and its answer is recorded in a second
transaction. A row left 'requested' is sent again with the same key; once that key may
be older than Stripe's 24-hour idempotency window, Stripe is asked instead whether the
payout exists (our key is in its metadata) and the row is settled from its answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from ..accounts.models import User
from ..core import audit, clock
from ..core.actions import Action
from ..core.money import MAX_CENTS, cents
from ..core.transactions import on_commit
from ..errors import InvalidState, PaymentError, PaymentServiceUnavailable, PermissionDenied
from ..extensions import celery, db
from ..integrations import payments
from .connect import payout_accounts
from .payout_models import InstantPayout, InstantStatus

MINIMUM_CENTS = 100          # Stripe's smallest instant payout is $1.00
KEY_TRUSTED = timedelta(hours=23)
METADATA = "instant_payout"  # the payout's metadata key naming our row, to find it again


@dataclass(frozen=True)
class Quote:
    account_id: str
    amount_cents: int      # what reaches the technician's debit card
    fee_cents: int         # Stripe's instant payout fee, taken from the balance beside it
    currency: str
    arrival: date

    @property
    def total_cents(self) -> int:
        """What leaves the Stripe balance: the payout and Stripe's fee."""
        return self.amount_cents + self.fee_cents


def _account_of(user: User) -> str:
    if not user.is_technician or user.technician is None:
        raise PermissionDenied("Instant payouts are for technicians.")
    account = payout_accounts([user.technician.id]).get(user.technician.id)
    if account is None:
        raise InvalidState("Finish setting up payouts with Stripe first.", code="not_onboarded")
    return account


def available(user: User, currency: str = "USD") -> tuple[str, int]:
    """The connected account and what it may pay out now (in cents)."""
    account = _account_of(user)
    funds = payments.gateway().balance(account)
    return account, funds.get(currency.upper(), (0, 0))[0]


def largest_payout(free: int, fee_of) -> int:
    """The most that can be paid out of `free` cents with its fee beside it."""
    low, high = 0, free
    while low < high:
        mid = (low + high + 1) // 2
        if mid + fee_of(mid) <= free:
            low = mid
        else:
            high = mid - 1
    return low


def quote(user: User, amount_cents: int | None = None, currency: str = "USD") -> Quote:
    """What an instant payout of `amount_cents` (default: as much as the balance allows)
    costs: Stripe's fee, which comes out of the balance beside the payout."""
    account, free = available(user, currency)
    gw = payments.gateway()
    fee_of = lambda amount: gw.instant_payout_fee_cents(amount, currency)  # noqa: E731
    if amount_cents is None:
        amount = largest_payout(free, fee_of)
    else:
        amount = cents(amount_cents, "amount_cents", minimum=1, maximum=MAX_CENTS * 10)
    if amount < MINIMUM_CENTS:
        raise InvalidState("Nothing to pay out yet: an instant payout is at least $1.00 "
                           "plus Stripe's fee.", code="nothing_available")
    fee = fee_of(amount)
    if amount + fee > free:
        raise InvalidState("That and Stripe's fee are more than your available balance.",
                           code="over_balance")
    return Quote(account, amount, fee, currency.upper(), clock.today())


def request(user: User, *, amount_cents: int, fee_cents: int, key: str,
            currency: str = "USD") -> InstantPayout:
    """Confirm a quote: the row under `key` (the client's idempotency key, one per payout),
    sent after commit. The same key again returns the first payout."""
    account = _account_of(user)
    key = f"instant:{user.technician.id}:{key}"
    existing = db.session.scalar(select(InstantPayout).where(InstantPayout.key == key))
    if existing is not None:
        return existing
    fresh = quote(user, amount_cents, currency)
    if fresh.fee_cents != fee_cents:
        raise InvalidState("Stripe's fee for that amount has changed; check the new quote.",
                           code="fee_changed")
    row = InstantPayout(key=key, technician_id=user.technician.id, account_id=account,
                        amount_cents=fresh.amount_cents, fee_cents=fresh.fee_cents,
                        currency=fresh.currency, status=InstantStatus.REQUESTED,
                        created_at=clock.now())
    db.session.add(row)
    db.session.flush()
    audit.record(Action.INSTANT_PAYOUT_REQUESTED, row, actor=user,
                 after={"amount_cents": row.amount_cents, "fee_cents": row.fee_cents})
    row_id = row.id
    on_commit(lambda: _enqueue(row_id))
    return row


def _enqueue(row_id: int) -> None:
    app = current_app._get_current_object()
    if app.config.get("PAYOUTS_AFTER_COMMIT", True):
        with app.app_context():
            instant_task.delay(row_id)


@celery.task(name="pay.payouts.instant")
def instant_task(row_id: int) -> str:
    return send(row_id)


def send(row_id: int) -> str:
    """Ask Stripe for the payout and record its answer (commits): 'pending', 'failed',
    'retry' (or 'paid', when a day-old row is settled from what Stripe says)."""
    row = db.session.get(InstantPayout, row_id, populate_existing=True)
    if row is None or row.status != InstantStatus.REQUESTED:
        db.session.rollback()
        return "skip"
    if clock.now() - row.created_at >= KEY_TRUSTED:
        return _settle_from_stripe(row)
    call = dict(account_id=row.account_id, amount_cents=row.amount_cents, currency=row.currency,
                method="instant", key=row.key, metadata={METADATA: row.key})
    db.session.commit()
    try:
        payout = payments.gateway().create_payout(**call)
    except PaymentServiceUnavailable:
        db.session.rollback()
        return "retry"
    except PaymentError as exc:
        _finish(row_id, status=InstantStatus.FAILED, failure=str(exc))
        return "failed"
    _finish(row_id, status=InstantStatus.PENDING, payout_id=payout.id, fee_cents=payout.fee_cents,
            arrival_date=payout.arrival_date)
    return "pending"


def _settle_from_stripe(row: InstantPayout) -> str:
    """A day without an answer and Stripe may have forgotten the key: ask Stripe whether
    the payout exists (by the key in its metadata) and record what it says (commits)."""
    row_id, account, key = row.id, row.account_id, row.key
    since = row.created_at - timedelta(minutes=10)
    db.session.commit()
    try:
        made = [p for p in payments.gateway().list_payouts(account, since=since)
                if (p.metadata or {}).get(METADATA) == key]
    except PaymentServiceUnavailable:
        db.session.rollback()
        return "retry"
    except PaymentError as exc:
        current_app.logger.warning("instant payout %s: Stripe lookup failed: %s", row_id, exc)
        db.session.rollback()
        return "retry"
    if not made:
        _finish(row_id, status=InstantStatus.FAILED,
                failure="Stripe never made this payout: nothing left your balance. "
                        "Request it again.")
        return "failed"
    payout = made[0]
    if payout.status in ("failed", "canceled"):
        _finish(row_id, status=InstantStatus.FAILED, payout_id=payout.id,
                failure=payout.failure_message or f"Stripe reports the payout {payout.status}.")
        return "failed"
    _finish(row_id, status=InstantStatus.PAID if payout.status == "paid"
            else InstantStatus.PENDING, payout_id=payout.id, fee_cents=payout.fee_cents,
            arrival_date=payout.arrival_date)
    return "paid" if payout.status == "paid" else "pending"


def _finish(row_id: int, **values) -> None:
    db.session.execute(update(InstantPayout).where(
        InstantPayout.id == row_id, InstantPayout.status == InstantStatus.REQUESTED).values(
        **values).execution_options(synchronize_session=False))
    db.session.commit()


def sweep() -> int:
    """Send again what is still 'requested' a minute on (a crash, a timeout)."""
    ids = list(db.session.scalars(select(InstantPayout.id).where(
        InstantPayout.status == InstantStatus.REQUESTED,
        InstantPayout.created_at <= clock.now() - timedelta(minutes=1))))
    db.session.rollback()
    return sum(send(i) == "pending" for i in ids)


def settle(payout_id: str, *, paid: bool, failure: str | None = None,
           key: str | None = None) -> InstantPayout | None:
    """Stripe's payout.paid / payout.failed for an instant payout (caller's transaction).

    The event can come before the answer to our request was recorded (the payout was
    made, our second transaction has not committed, or never will): the row is then found
    by `key`, ours in the payout's metadata, takes the payout's id and is settled; the
    late answer changes nothing (it only finishes a row still 'requested')."""
    found = InstantPayout.payout_id == payout_id
    if key:     # (locked: the answer, recorded meanwhile, is seen with its payout id)
        found = or_(found, and_(InstantPayout.key == key, InstantPayout.payout_id.is_(None)))
    row = db.session.scalar(select(InstantPayout).where(found).with_for_update())
    if row is None:
        return None
    to = InstantStatus.PAID if paid else InstantStatus.FAILED
    db.session.execute(update(InstantPayout).where(
        InstantPayout.id == row.id, InstantPayout.status.in_(
            (InstantStatus.REQUESTED, InstantStatus.PENDING, InstantStatus.PAID))).values(
        status=to, failure=failure, payout_id=payout_id)
        .execution_options(synchronize_session=False))
    return row


def history(user: User, limit: int = 20) -> list[InstantPayout]:
    if not user.is_technician or user.technician is None:
        return []
    return list(db.session.scalars(select(InstantPayout).where(
        InstantPayout.technician_id == user.technician.id)
        .order_by(InstantPayout.id.desc()).limit(limit)))
