"""The fees the sandbox charges, modelled on Stripe's published US pricing. The app
states Stripe's instant payout fee on its own (integrations/payments.py); the shared
contract tests compare the two, so neither can drift unnoticed."""
from __future__ import annotations


def _bps(amount: int, bps: int) -> int:
    """Basis points of an amount in cents, rounded half up, in integers."""
    return (amount * bps + 5000) // 10000


def card_fee(amount: int) -> int:
    """2.9% + 30 cents per successful card charge."""
    return _bps(amount, 290) + 30


def ach_fee(amount: int) -> int:
    """0.8% per ACH Direct Debit, capped at $5.00."""
    return min(_bps(amount, 80), 500)


def instant_payout_fee(amount: int) -> int:
    """1.5% of the payout, at least 50 cents."""
    return max(_bps(amount, 150), 50)


DISPUTE_FEE = 1500
