"""Funds secured before routing, released on cancel, settled into a payable on approval."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from marketplace.core import clock
from marketplace.engage import backfill
from marketplace.errors import FundsMissing
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus as S
from marketplace.manage import changes, review
from marketplace.pay import approval, ledger, reserves, settings
from marketplace.pay.ledger import Kind
from marketplace.pay.payables import Payable, PayableKind
from tests.find.helpers import DALLAS, tech_at
from tests.pay.books_helpers import bal, draft_work, fund, route, submitted, taken


@pytest.fixture
def funds_required(app):
    app.config["PAY_FUNDS_REQUIRED"] = True
    yield
    app.config["PAY_FUNDS_REQUIRED"] = False


def test_routing_secures_the_budget_from_the_firms_funds(app, ctx, funds_required):
    owner, tech, job = taken(funds=30000, budget=20000)
    firm = owner.firm.id
    assert (bal(Kind.FIRM_AVAILABLE, firm), bal(Kind.FIRM_RESERVED, firm)) == (10000, 20000)
    assert reserves.reserved_for(job) == 20000
    assert reserves.spendable_cents(firm) == 10000
    assert ledger.verify() == []


def test_a_firm_cannot_route_beyond_its_funds_and_is_told_what_is_missing(app, ctx,
                                                                         funds_required):
    owner, job = draft_work(budget=20000)
    tech = tech_at(*DALLAS)
    fund(owner.firm.id, 5000)
    with pytest.raises(FundsMissing, match=r"You need \$150\.00 more") as refused:
        route(owner, job, tech)
    assert refused.value.missing_cents == 15000
    db.session.rollback()
    db.session.refresh(job)
    assert job.status == S.DRAFT
    assert (bal(Kind.FIRM_AVAILABLE, owner.firm.id), bal(Kind.FIRM_RESERVED, owner.firm.id)) \
        == (5000, 0)


def test_without_required_funds_routing_secures_what_there_is(app, ctx):
    owner, job = draft_work(budget=20000)
    fund(owner.firm.id, 5000)
    route(owner, job, tech_at(*DALLAS))
    assert job.status == S.PUBLISHED and reserves.reserved_for(job) == 5000


def test_cancelling_late_releases_the_reserve_less_the_fee_owed_to_the_technician(
        app, ctx, funds_required):
    owner, tech, job = taken(funds=30000, budget=20000, fee=5000)
    clock.travel_to(job.starts_at - timedelta(hours=2))
    backfill.cancel_assignment(owner, job, "Customer postponed")
    db.session.commit()
    firm = owner.firm.id
    assert (bal(Kind.FIRM_AVAILABLE, firm), bal(Kind.FIRM_RESERVED, firm)) == (25000, 0)
    assert bal(Kind.TECH_PAYABLE, tech.id) == 5000
    payable = db.session.scalar(select(Payable).where(Payable.assignment_id == job.id))
    assert (payable.kind, payable.amount_cents, payable.technician_id) == \
        (PayableKind.CANCELLATION, 5000, tech.id)
    assert ledger.verify() == []


def test_cancelling_early_gives_everything_back(app, ctx, funds_required):
    owner, tech, job = taken(funds=20000, budget=20000, fee=5000)
    backfill.cancel_assignment(owner, job, "Not needed")
    db.session.commit()
    assert bal(Kind.FIRM_AVAILABLE, owner.firm.id) == 20000
    assert bal(Kind.TECH_PAYABLE, tech.id) == 0


def test_approval_pays_the_final_amount_less_the_fee_and_releases_the_rest(app, ctx,
                                                                          funds_required):
    owner, tech, job = taken(funds=30000, budget=20000)
    submitted(tech, job)
    owed = review.approve(owner, job)
    db.session.commit()
    firm = owner.firm.id
    assert owed.total_cents == 20000
    assert bal(Kind.TECH_PAYABLE, tech.id) == 18000
    assert bal(Kind.PLATFORM_FEES, None) == 2000
    assert (bal(Kind.FIRM_RESERVED, firm), bal(Kind.FIRM_AVAILABLE, firm)) == (0, 10000)
    payable = db.session.scalar(select(Payable).where(Payable.assignment_id == job.id))
    assert (payable.amount_cents, payable.fee_cents, payable.gross_cents) == (18000, 2000, 20000)
    assert payable.due_on == job.starts_at.date() and not payable.auto_approved
    assert ledger.verify() == [] and ledger.trial_balance() == {"USD": 0}


def test_approved_expenses_secure_more_and_are_paid_without_fee(app, ctx, funds_required):
    owner, tech, job = taken(funds=22550, budget=20000)
    clock.travel_to(job.starts_at, freeze=True)
    change = changes.request_change(tech.user, job, kind="expense", amount="25.50",
                                    category="parts", reason="Patch cables")
    changes.decide_change(owner, change, True)
    db.session.commit()
    assert reserves.reserved_for(job) == 22550
    big = changes.request_change(tech.user, job, kind="expense", amount="10.00",
                                 category="parts", reason="More")
    with pytest.raises(FundsMissing, match=r"\$10\.00"):
        changes.decide_change(owner, big, True)
    db.session.rollback()
    submitted(tech, job)
    review.approve(owner, job)
    db.session.commit()
    assert bal(Kind.TECH_PAYABLE, tech.id) == 18000 + 2550
    assert bal(Kind.FIRM_RESERVED, owner.firm.id) == 0


def test_payment_terms_set_the_due_day(app, ctx):
    owner, tech, job = taken()
    settings.update_settings(owner, owner.firm.id, auto_approve_days="5", payment_terms_days="15")
    submitted(tech, job)
    review.approve(owner, job)
    db.session.commit()
    payable = db.session.scalar(select(Payable).where(Payable.assignment_id == job.id))
    assert payable.due_on == job.starts_at.date() + timedelta(days=15)
    assert payable.payment_terms_days == 15


def test_silent_work_is_approved_after_the_firms_days(app, ctx):
    owner, tech, job = taken()
    settings.update_settings(owner, owner.firm.id, auto_approve_days="3", payment_terms_days="0")
    submitted(tech, job)
    when = approval.auto_approval_at(job)
    assert when == clock.now() + timedelta(days=3)
    clock.advance(timedelta(days=3) - timedelta(minutes=1))
    assert approval.auto_approve_due() == 0
    clock.advance(timedelta(minutes=1))
    assert approval.auto_approve_due() == 1
    db.session.commit()
    assert job.status == S.APPROVED
    payable = db.session.scalar(select(Payable).where(Payable.assignment_id == job.id))
    assert payable.auto_approved and payable.amount_cents == 18000
    assert approval.auto_approve_due() == 0


def test_settings_refuse_days_outside_the_range(app, ctx):
    from marketplace.errors import ValidationFailed
    owner, job = draft_work()
    with pytest.raises(ValidationFailed):
        settings.update_settings(owner, owner.firm.id, auto_approve_days="2",
                                 payment_terms_days="0")
    with pytest.raises(ValidationFailed):
        settings.update_settings(owner, owner.firm.id, auto_approve_days="7",
                                 payment_terms_days="10")
    assert settings.for_firm(owner.firm.id) == settings.PaySettings()


def test_verify_ledger_command_reports_ok_and_differences(app, ctx):
    from sqlalchemy import text
    owner, tech, job = taken()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["pay", "verify-ledger"])
    assert result.exit_code == 0 and "ledger verified" in result.output
    db.session.execute(text("UPDATE ledger_accounts SET balance_cents = balance_cents + 7 "
                            "WHERE kind = 'firm_reserved'"))
    db.session.commit()
    result = runner.invoke(args=["pay", "verify-ledger"])
    assert result.exit_code != 0 and "off by 7" in result.output




def test_a_transaction_reads_a_firms_pay_settings_once_and_sees_its_own_change(app, ctx):
    owner, job = draft_work()
    db.session.commit()
    reads = []
    event.listen(db.engine, "before_cursor_execute", _read := (
        lambda conn, cursor, sql, *rest: reads.append(sql) if "FROM pay_firm_settings" in sql
        else None))
    try:
        # A firm that never changed them: no row, the defaults, one read.
        assert settings.for_firm(owner.firm.id) == settings.PaySettings()
        assert settings.for_firm(owner.firm.id) == settings.PaySettings()
        assert len(reads) == 1
        changed = settings.update_settings(owner, owner.firm.id, auto_approve_days="4",
                                           payment_terms_days="30")
        assert changed == settings.PaySettings(4, 30) == settings.for_firm(owner.firm.id)
        db.session.commit()
        assert settings.for_firm(owner.firm.id) == settings.PaySettings(4, 30)
    finally:
        event.remove(db.engine, "before_cursor_execute", _read)
