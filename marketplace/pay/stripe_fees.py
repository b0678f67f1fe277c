"""Stripe's fees into the ledger: each platform balance transaction that Stripe charged a
fee on (card and bank charges, disputes) posts that fee once, from clearing (the money at
Stripe) to `platform_stripe_fees`, under the key `stripe_fee:<balance transaction id>`.

Stripe is read first, then the missing fees are posted; a rerun or a second runner posts
nothing twice (the ledger's unique key). A negative fee (Stripe gave a fee back) posts the
other way. `flask pay stripe-fees` and the hourly beat run it.
"""
from __future__ import annotations

from sqlalchemy import select

from ..core.progress import Progress, report
from ..extensions import db
from ..integrations import payments
from . import ledger

K = ledger.Kind


def key_of(balance_transaction_id: str) -> str:
    return f"stripe_fee:{balance_transaction_id}"


def post_stripe_fees(progress: Progress | None = None) -> int:
    """Post every fee Stripe reports that the ledger does not hold yet; returns how many."""
    charged = [row for row in payments.gateway().balance_transactions() if row.fee_cents]
    keys = [key_of(row.id) for row in charged]
    held = set()
    for start in range(0, len(keys), 500):
        held.update(db.session.scalars(select(ledger.LedgerTransaction.key).where(
            ledger.LedgerTransaction.key.in_(keys[start:start + 500]))))
    posted = 0
    for done, row in enumerate(charged, 1):
        if key_of(row.id) not in held:
            clearing = ledger.account(K.PLATFORM_CLEARING, None, row.currency)
            fees = ledger.account(K.PLATFORM_STRIPE_FEES, None, row.currency)
            source, target = (clearing, fees) if row.fee_cents > 0 else (fees, clearing)
            ledger.move(key_of(row.id), memo=f"Stripe fee on {row.type} {row.source or row.id}",
                        ref=f"balance_transaction:{row.id}", source=source, target=target,
                        amount_cents=abs(row.fee_cents))
            posted += 1
        report(progress, done, len(charged), f"{posted} fees posted")
    return posted
