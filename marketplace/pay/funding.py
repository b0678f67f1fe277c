"""Firm funding: top-ups by card or US bank account, and net terms granted by admins.

A top-up is a row written in the request's transaction with an outbox message; after
commit the relay creates the PaymentIntent (key `topup:<id>`), and its answer and the
webhooks move the top-up along, never backwards: money at Stripe (PLATFORM_CLEARING)
-> FIRM_PENDING while a bank debit is processing -> FIRM_AVAILABLE when it succeeds,
or back to clearing when it fails after processing. A declined card moves nothing.
The firm is told why a top-up failed, in words about its card or bank.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from ..accounts.models import Firm, Role, User
from ..accounts.policy import require_member
from ..core import audit, clock, outbox
from ..core.actions import Action
from ..core.money import MAX_CENTS, currency_code, format_money
from ..errors import (NotFound, PaymentError, PaymentServiceUnavailable,
                      PermissionDenied, ValidationFailed)
from ..extensions import db
from ..integrations import payments
from ..notifications.services import notify, notify_firm
from . import ledger
from .rails_models import TERMS_DAYS, NetTerms, TopUp, TopUpStatus

CHANNEL = "stripe_topup"
MINIMUM_CENTS = 1000
MAXIMUM_CENTS = MAX_CENTS
FUNDERS = (Role.OWNER, Role.MANAGER)
# Stripe's test payment methods (test mode and the sandbox). With live keys the card or
# bank account comes from Stripe's Payment Element instead.
PAYMENT_METHODS = {
    "card": [("pm_card_visa", "Visa ending 4242"),
             ("pm_card_mastercard", "Mastercard ending 4444"),
             ("pm_card_chargeDeclined", "Visa ending 0002 (test card: declined)"),
             ("pm_card_chargeDeclinedInsufficientFunds",
              "Visa ending 9995 (test card: insufficient funds)")],
    "us_bank_account": [("pm_usBankAccount_success", "Checking ending 6789"),
                        ("pm_usBankAccount_accountClosed",
                         "Checking ending 1113 (test account: closed)"),
                        ("pm_usBankAccount_insufficientFunds",
                         "Checking ending 2227 (test account: insufficient funds)")],
}
METHOD_LABELS = {"card": "Card", "us_bank_account": "Bank account (ACH)"}
BANK_REASONS = {
    "account_closed": "the bank account is closed",
    "no_account": "no bank account was found with those details",
    "insufficient_funds": "the bank account did not have enough money",
    "debit_not_authorized": "the bank says the debit was not authorised",
    "invalid_account_number": "the account number is not valid",
}
CARD_REASONS = {
    "insufficient_funds": "the card has insufficient funds",
    "expired_card": "the card has expired",
}


def failure_text(method: str, code: str | None, stripe_message: str | None) -> str:
    """Why a top-up failed, as the firm reads it."""
    if method == "us_bank_account":
        reason = BANK_REASONS.get(code or "", (stripe_message or "the bank refused it").rstrip("."))
        return f"Your bank returned the payment: {reason}. The money was not added."
    reason = CARD_REASONS.get(code or "")
    return (f"Your card was declined: {reason}." if reason else
            "Your card was declined. Try another card or pay from a bank account.")


# Top-ups -----------------------------------------------------------------------------------

def start_topup(user: User, firm_id: int, *, amount_cents: int, method: str,
                payment_method: str, currency: str = "USD") -> TopUp:
    """Record a top-up; the payment is made right after commit."""
    require_member(user, firm_id, *FUNDERS,
                   message="Only the firm's owner or managers can add funds.")
    if method not in PAYMENT_METHODS:
        raise ValidationFailed.field("method", "Choose card or bank account.")
    if payment_method not in dict(PAYMENT_METHODS[method]):
        raise ValidationFailed.field("payment_method", "Choose one of your payment methods.")
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or \
            not MINIMUM_CENTS <= amount_cents <= MAXIMUM_CENTS:
        raise ValidationFailed.field("amount", f"Add between {format_money(MINIMUM_CENTS)} "
                                               f"and {format_money(MAXIMUM_CENTS)}.")
    topup = TopUp(firm_id=firm_id, created_by_id=user.id, amount_cents=amount_cents,
                  currency=currency_code(currency), method=method,
                  payment_method=payment_method)
    db.session.add(topup)
    db.session.flush()
    outbox.enqueue(CHANNEL, {"topup_id": topup.id}, message_id=f"topup:{topup.id}",
                   subject=f"Top-up {format_money(amount_cents, topup.currency)}",
                   ref=f"firm:{firm_id}")
    audit.record(Action.TOPUP_STARTED, topup, actor=user, firm_id=firm_id,
                 after={"amount_cents": amount_cents, "method": method})
    return topup


def deliver_topup(payload: dict, message) -> None:
    """Outbox deliverer: make the payment (same key on every attempt) and record its
    answer in this relay's own transaction."""
    topup = db.session.get(TopUp, payload["topup_id"])
    if topup is not None:
        pay_topup(topup)
    db.session.commit()


def pay_topup(topup: TopUp) -> None:
    """Create the top-up's PaymentIntent and record the answer (the caller commits).
    PaymentServiceUnavailable propagates: the outbox tries again with the same key."""
    if topup.status != TopUpStatus.REQUESTED:
        return
    try:
        state = payments.gateway().create_payment_intent(
            amount_cents=topup.amount_cents, currency=topup.currency, method=topup.method,
            payment_method=topup.payment_method, key=f"topup:{topup.id}",
            metadata={"topup_id": topup.id, "firm_id": topup.firm_id})
    except PaymentServiceUnavailable:
        raise
    except PaymentError as exc:             # a declined card, a refused request
        _fail_without_intent(topup, exc.code, exc.message)
    else:
        apply_payment_intent(topup.id, state.id, state.status, state.failure_code,
                             state.failure_message)


def _fail_without_intent(topup: TopUp, code: str | None, message: str | None) -> None:
    _move(topup, TopUpStatus.FAILED, failure_code=code, settled_at=clock.now(),
          failure_message=failure_text(topup.method, code, message))
    audit.record(Action.TOPUP_FAILED, subject_type="pay_topups", subject_id=topup.id,
                 firm_id=topup.firm_id, after={"status": "failed", "code": code})


def give_up_topup(payload: dict, message) -> None:
    """The outbox gave up reaching Stripe: tell the firm (its own transaction)."""
    topup = db.session.get(TopUp, payload["topup_id"])
    if topup is not None and topup.status == TopUpStatus.REQUESTED:
        _move(topup, TopUpStatus.FAILED, failure_code="unreachable", settled_at=clock.now(),
              failure_message="The payment service could not be reached, so nothing was "
                              "added. Try again later.")


def _status_of(pi_status: str) -> TopUpStatus | None:
    return {"processing": TopUpStatus.PROCESSING, "succeeded": TopUpStatus.SUCCEEDED,
            "requires_payment_method": TopUpStatus.FAILED,
            "canceled": TopUpStatus.FAILED}.get(pi_status)


def _move(topup: TopUp, to: TopUpStatus, **values) -> bool:
    """Compare-and-set on the version read; False when someone else moved it first."""
    done = db.session.execute(update(TopUp).where(
        TopUp.id == topup.id, TopUp.version == topup.version).values(
        status=to, version=topup.version + 1, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.expire(topup)
    return done


def apply_payment_intent(topup_id: int, payment_intent_id: str, pi_status: str,
                         failure_code: str | None = None,
                         failure_message: str | None = None) -> bool:
    """Bring a top-up to the payment intent's state if that is further along; the
    ledger follows. From the create call's answer and from webhooks, in any order."""
    to = _status_of(pi_status)
    topup = db.session.scalar(select(TopUp).where(TopUp.id == topup_id).with_for_update())
    if to is None or topup is None:
        return False
    # Forward only; except that a top-up given up on while Stripe could not be reached
    # (no intent known) is credited if its payment did go through after all.
    unreached = topup.status == TopUpStatus.FAILED and topup.payment_intent_id is None
    if to.rank <= topup.status.rank and not (unreached and to == TopUpStatus.SUCCEEDED):
        return False
    if topup.payment_intent_id not in (None, payment_intent_id):
        return False
    was = topup.status
    values: dict = {"payment_intent_id": payment_intent_id}
    if to == TopUpStatus.FAILED:
        values.update(failure_code=failure_code,
                      failure_message=failure_text(topup.method, failure_code, failure_message))
    if to in (TopUpStatus.SUCCEEDED, TopUpStatus.FAILED):
        values["settled_at"] = clock.now()
    firm_id, amount, currency = topup.firm_id, topup.amount_cents, topup.currency
    if not _move(topup, to, **values):
        return False
    _post(firm_id, amount, currency, payment_intent_id, was, to)
    if was == TopUpStatus.PROCESSING:
        _tell_firm(topup_id, to)
    action = {TopUpStatus.SUCCEEDED: Action.TOPUP_SUCCEEDED,
              TopUpStatus.FAILED: Action.TOPUP_FAILED}.get(to)
    if action:
        audit.record(action, subject_type="pay_topups", subject_id=topup_id, firm_id=firm_id,
                     before={"status": was.value}, after={"status": to.value,
                                                          "payment_intent": payment_intent_id})
    return True


def _post(firm_id: int, amount: int, currency: str, pi: str, was: TopUpStatus,
          to: TopUpStatus) -> None:
    clearing = ledger.account(ledger.Kind.PLATFORM_CLEARING, None, currency)
    pending = ledger.account(ledger.Kind.FIRM_PENDING, firm_id, currency)
    available = ledger.account(ledger.Kind.FIRM_AVAILABLE, firm_id, currency)
    ref = f"payment_intent:{pi}"
    if to == TopUpStatus.PROCESSING:
        ledger.move(f"topup:{pi}:processing", memo="Bank top-up processing", ref=ref,
                    source=clearing, target=pending, amount_cents=amount)
    elif to == TopUpStatus.SUCCEEDED:
        ledger.move(f"topup:{pi}:succeeded", memo="Top-up succeeded", ref=ref,
                    source=pending if was == TopUpStatus.PROCESSING else clearing,
                    target=available, amount_cents=amount)
    elif to == TopUpStatus.FAILED and was == TopUpStatus.PROCESSING:
        ledger.move(f"topup:{pi}:failed", memo="Bank top-up failed after processing",
                    ref=ref, source=pending, target=clearing, amount_cents=amount)


def _f(obj, name: str, default=None):
    """A field of a Stripe object (or a plain dict), or the default."""
    try:
        value = obj[name]
    except (KeyError, TypeError, AttributeError):
        return default
    return default if value is None else value


def _tell_firm(topup_id: int, to: TopUpStatus) -> None:
    """A bank top-up ended days after it was made: tell whoever made it."""
    topup = db.session.get(TopUp, topup_id)
    amount = format_money(topup.amount_cents, topup.currency)
    title, body = ((f"Funds added: {amount}", "Your bank top-up has cleared and is available "
                    "for new work.") if to == TopUpStatus.SUCCEEDED else
                   (f"Bank top-up returned: {amount}", topup.failure_message or ""))
    user = db.session.get(User, topup.created_by_id) if topup.created_by_id else None
    kind, key = f"firm.topup_{to.value}", f"topup:{topup.id}:{to.value}"
    if user is not None:
        notify(user, kind, title, body, link="/pay/funds", dedupe_key=key)
    else:
        notify_firm(topup.firm_id, kind, title, body, link="/pay/funds", dedupe_key=key)


def topup_for_intent(obj) -> int | None:
    raw = _f(_f(obj, "metadata"), "topup_id")
    if raw and str(raw).isdigit():
        return int(raw)
    return db.session.scalar(select(TopUp.id).where(TopUp.payment_intent_id == obj["id"]))


def on_payment_intent(obj, account: str | None) -> None:
    """payment_intent.processing / succeeded / payment_failed (verified)."""
    topup_id = topup_for_intent(obj)
    if topup_id is None:
        return
    error = _f(obj, "last_payment_error")
    apply_payment_intent(topup_id, obj["id"], obj["status"],
                         _f(error, "decline_code") or _f(error, "code"), _f(error, "message"))


def on_charge_refunded(obj, account: str | None) -> None:
    """A top-up's charge refunded (in part): what is refunded leaves the firm's funds."""
    topup = db.session.scalar(select(TopUp).where(
        TopUp.payment_intent_id == obj["payment_intent"]).with_for_update())
    refunded = int(obj["amount_refunded"])
    if topup is None or refunded <= topup.refunded_cents:
        return
    delta = refunded - topup.refunded_cents
    db.session.execute(update(TopUp).where(TopUp.id == topup.id).values(
        refunded_cents=refunded, version=topup.version + 1, updated_at=clock.now()))
    ledger.move(f"topup:{topup.payment_intent_id}:refunded:{refunded}", memo="Top-up refunded",
                ref=f"payment_intent:{topup.payment_intent_id}",
                source=ledger.account(ledger.Kind.FIRM_AVAILABLE, topup.firm_id, topup.currency),
                target=ledger.account(ledger.Kind.PLATFORM_CLEARING, None, topup.currency),
                amount_cents=delta)
    audit.record(Action.TOPUP_REFUNDED, subject_type="pay_topups", subject_id=topup.id,
                 firm_id=topup.firm_id, after={"refunded_cents": refunded})


def on_dispute(obj, account: str | None) -> None:
    """charge.dispute.created withdraws the disputed amount from the firm's funds;
    charge.dispute.closed as won gives it back."""
    topup = db.session.scalar(select(TopUp).where(
        TopUp.payment_intent_id == obj["payment_intent"]).with_for_update())
    if topup is None:
        return
    status, amount = obj["status"], int(obj["amount"])
    available = ledger.account(ledger.Kind.FIRM_AVAILABLE, topup.firm_id, topup.currency)
    clearing = ledger.account(ledger.Kind.PLATFORM_CLEARING, None, topup.currency)
    ref = f"dispute:{obj['id']}"
    if status in ("won", "lost"):
        if status == "won" and topup.disputed_cents:
            ledger.move(f"{ref}:won", memo="Dispute won", ref=ref, source=clearing,
                        target=available, amount_cents=amount)
            db.session.execute(update(TopUp).where(TopUp.id == topup.id).values(
                disputed_cents=0, version=topup.version + 1))
        return
    if topup.disputed_cents:
        return
    ledger.move(f"{ref}:created", memo="Top-up disputed", ref=ref, source=available,
                target=clearing, amount_cents=amount)
    db.session.execute(update(TopUp).where(TopUp.id == topup.id).values(
        disputed_cents=amount, version=topup.version + 1))
    audit.record(Action.TOPUP_DISPUTED, subject_type="pay_topups", subject_id=topup.id,
                 firm_id=topup.firm_id, after={"dispute": obj["id"], "amount_cents": amount})


def list_topups(user: User, firm_id: int, limit: int = 20) -> list[TopUp]:
    require_member(user, firm_id)
    return list(db.session.scalars(select(TopUp).where(TopUp.firm_id == firm_id)
                                   .order_by(TopUp.created_at.desc(), TopUp.id.desc())
                                   .limit(limit)))


# Net terms ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Terms:
    days: int
    credit_limit_cents: int
    currency: str


def terms_for(firm_id: int) -> Terms | None:
    row = db.session.get(NetTerms, firm_id)
    return None if row is None else Terms(row.days, row.credit_limit_cents, row.currency)


def _admin(user: User) -> None:
    if user is None or not user.is_admin:
        raise PermissionDenied("Only platform admins grant net terms.")


def grant_terms(user: User, firm_id: int, *, days: int, credit_limit_cents: int,
                currency: str = "USD") -> NetTerms:
    """Grant (or change) a firm's net terms; audited with before and after."""
    _admin(user)
    if db.session.get(Firm, firm_id) is None:
        raise NotFound("That firm does not exist.")
    if days not in TERMS_DAYS:
        raise ValidationFailed.field("days", "Net terms are 7, 15 or 30 days.")
    if isinstance(credit_limit_cents, bool) or not isinstance(credit_limit_cents, int) or \
            not 0 < credit_limit_cents <= MAXIMUM_CENTS:
        raise ValidationFailed.field("credit_limit", "Set a credit limit above $0 and at most "
                                                     f"{format_money(MAXIMUM_CENTS)}.")
    row = db.session.scalar(select(NetTerms).where(NetTerms.firm_id == firm_id)
                            .with_for_update())
    before = None if row is None else {"days": row.days,
                                       "credit_limit_cents": row.credit_limit_cents}
    if row is None:
        row = NetTerms(firm_id=firm_id)
        db.session.add(row)
    row.days, row.credit_limit_cents, row.currency = days, credit_limit_cents, \
        currency_code(currency)
    row.granted_by_id, row.granted_at = user.id, clock.now()
    db.session.flush()
    audit.record(Action.NET_TERMS_GRANTED, subject_type="pay_net_terms", subject_id=firm_id,
                 actor=user, firm_id=firm_id, before=before,
                 after={"days": days, "credit_limit_cents": credit_limit_cents})
    return row


def revoke_terms(user: User, firm_id: int) -> None:
    """No new work on credit; what the firm already owes stays owed."""
    _admin(user)
    row = db.session.scalar(select(NetTerms).where(NetTerms.firm_id == firm_id)
                            .with_for_update())
    if row is None:
        raise NotFound("That firm has no net terms.")
    before = {"days": row.days, "credit_limit_cents": row.credit_limit_cents}
    db.session.delete(row)
    db.session.flush()
    audit.record(Action.NET_TERMS_REVOKED, subject_type="pay_net_terms", subject_id=firm_id,
                 actor=user, firm_id=firm_id, before=before)


def firms_with_terms() -> list[tuple[NetTerms, Firm]]:
    return list(db.session.execute(select(NetTerms, Firm).join(Firm, Firm.id == NetTerms.firm_id)
                                   .order_by(Firm.name)).all())


def method_of(payment_method: str) -> str:
    """card or us_bank_account, for one of the offered payment methods."""
    for method, options in PAYMENT_METHODS.items():
        if payment_method in dict(options):
            return method
    raise ValidationFailed.field("payment_method", "Choose one of your payment methods.")
