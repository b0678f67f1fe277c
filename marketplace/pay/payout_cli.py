"""Payouts' `flask pay` commands: the payout run, reconciliation, 1099-NEC totals."""
from __future__ import annotations

import click
from flask import Flask

from ..core.money import format_money
from ..core.progress import ProgressBar


@click.command("payouts")
def run_payouts() -> None:
    """Transfer every due payable now and resend payouts left pending (for cron)."""
    from . import instant, transfers
    with ProgressBar("Paying out") as bar:
        result = transfers.run(progress=bar)
    click.echo(f"payouts: {result.opened} opened, {result.sent} sent, {result.retry} to retry, "
               f"{result.failed} failed; instant payouts resent: {instant.sweep()}")


@click.command("reconcile")
def reconcile_command() -> None:
    """Compare the ledger with Stripe's balance transactions; list every difference."""
    from .reconcile import reconcile
    with ProgressBar("Reconciling") as bar:
        result = reconcile(progress=bar)
    for d in result.differences:
        ours = "—" if d.ledger_cents is None else format_money(d.ledger_cents)
        theirs = "—" if d.stripe_cents is None else format_money(d.stripe_cents)
        click.echo(f"{d.kind} {d.reference}: ours {ours}, Stripe {theirs}: {d.note}")
    click.echo(f"reconciled {result.checked} Stripe balance transactions: {result.matched} "
               f"transfers matched, {len(result.differences)} difference(s)")
    if result.differences:
        raise click.ClickException(f"{len(result.differences)} difference(s) with Stripe")


@click.command("tax-1099")
@click.option("--year", required=True, type=int, help="The tax year.")
def tax_command(year: int) -> None:
    """Per-technician totals paid in a tax year, as CSV, with whether to file a 1099-NEC."""
    from . import tax
    click.echo(tax.annual_csv(year), nl=False)


COMMANDS = (run_payouts, reconcile_command, tax_command)


def init_app(app: Flask) -> None:
    """Into the books' `flask pay` group (pay/cli.py), made here if it is not there."""
    group = app.cli.commands.get("pay")
    if group is None:
        from .cli import pay_group as group
        app.cli.add_command(group)
    for command in COMMANDS:
        if command.name not in group.commands:
            group.add_command(command)
