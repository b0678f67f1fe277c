"""The `flask pay` commands. Other pay modules add theirs to `pay_group`."""
from __future__ import annotations

import click

from ..core.money import format_money

pay_group = click.Group("pay", help="The books: ledger checks, auto-approval, payouts.")


@pay_group.command("verify-ledger")
def verify_ledger() -> None:
    """Recompute every balance from the entries and report each difference."""
    from . import ledger
    found = ledger.verify()
    for d in found:
        if d.what == "account":
            click.echo(f"account {d.ident} ({d.label}): entries sum to {d.expected}, "
                       f"running balance says {d.found} (off by {d.found - d.expected})")
        else:
            click.echo(f"transaction {d.ident} does not balance in {d.label}: off by {d.found}")
    trial = ledger.trial_balance()
    for currency, total in sorted(trial.items()):
        click.echo(f"trial balance {currency}: {format_money(total, currency)}"
                   if total >= 0 else f"trial balance {currency}: {total} cents")
    if found or any(trial.values()):
        raise click.ClickException(f"{len(found)} difference(s) in the ledger")
    click.echo("ledger verified: every balance equals its entries, every transaction balances")


@pay_group.command("roll-up")
def roll_up() -> None:
    """Fold the platform accounts' posted deltas into their running balances."""
    from . import ledger
    folded = ledger.roll_up()
    click.echo(f"rolled up {sum(folded.values())} entries into {len(folded)} account(s)")


@pay_group.command("stripe-fees")
def stripe_fees() -> None:
    """Post the fees Stripe charged on the platform's balance that the ledger lacks."""
    from ..core.progress import ProgressBar
    from .stripe_fees import post_stripe_fees
    with ProgressBar("Stripe fees") as bar:
        click.echo(f"Stripe fees posted: {post_stripe_fees(progress=bar)}")


@pay_group.command("auto-approve")
def auto_approve() -> None:
    """Approve submitted work whose firm left it unanswered past its review time."""
    from .approval import auto_approve_due
    click.echo(f"auto-approved: {auto_approve_due()}")


def init_app(app) -> None:
    app.cli.add_command(pay_group)
