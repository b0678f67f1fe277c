"""The platform's accounts are rolled up, not locked: a post appends a delta, the roll-up
folds the committed deltas into the running balance, and a balance is exact throughout."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from marketplace import create_app
from marketplace.extensions import db
from marketplace.pay import ledger
from marketplace.pay.ledger import Kind, LedgerAccount, LedgerDelta


def _deltas(acct=None) -> int:
    stmt = select(func.count()).select_from(LedgerDelta)
    if acct is not None:
        stmt = stmt.where(LedgerDelta.account_id == acct.id)
    return db.session.scalar(stmt)


def _running(acct) -> int:
    return db.session.scalar(select(LedgerAccount.balance_cents).where(LedgerAccount.id == acct.id))


def test_platform_balances_are_exact_before_and_after_a_roll_up(ctx):
    clearing = ledger.account(Kind.PLATFORM_CLEARING, None)
    fees = ledger.account(Kind.PLATFORM_FEES, None)
    avail, payable = ledger.account(Kind.FIRM_AVAILABLE, 1), ledger.account(Kind.TECH_PAYABLE, 2)
    ledger.move("fund", memo="m", ref="r", source=clearing, target=avail, amount_cents=10_000)
    ledger.post("approve", memo="m", ref="r",
                lines=[(avail, -4_000), (payable, 3_600), (fees, 400)])
    db.session.commit()
    # The locked accounts moved at once; the platform's are deltas still, yet exact.
    assert (_running(avail), _running(payable)) == (6_000, 3_600)
    assert (_deltas(clearing), _deltas(fees), _deltas(avail)) == (1, 1, 0)
    assert (_running(clearing), _running(fees)) == (0, 0)
    assert (ledger.balance(clearing), ledger.balance(fees)) == (-10_000, 400)
    assert ledger.balance_of(Kind.PLATFORM_FEES, None) == 400
    assert ledger.verify() == [] and ledger.trial_balance() == {"USD": 0}

    assert ledger.roll_up() == {clearing.id: 1, fees.id: 1}
    db.session.commit()
    assert _deltas() == 0
    assert (_running(clearing), _running(fees)) == (-10_000, 400)
    assert (ledger.balance(clearing), ledger.balance(fees)) == (-10_000, 400)
    assert ledger.verify() == [] and ledger.trial_balance() == {"USD": 0}

    ledger.move("fee2", memo="m", ref="r", source=payable, target=fees, amount_cents=100)
    assert ledger.balance(fees) == 500 and _running(fees) == 400
    assert ledger.roll_up() == {fees.id: 1} and ledger.roll_up() == {}
    db.session.commit()
    assert ledger.balance(fees) == 500 == _running(fees) and ledger.verify() == []


def test_verify_reports_a_delta_that_was_tampered_with(ctx):
    clearing = ledger.account(Kind.PLATFORM_CLEARING, None)
    avail = ledger.account(Kind.FIRM_AVAILABLE, 1)
    ledger.move("fund", memo="m", ref="r", source=clearing, target=avail, amount_cents=700)
    db.session.execute(text("UPDATE ledger_deltas SET amount_cents = -600"))
    assert [(d.what, d.ident, d.expected, d.found) for d in ledger.verify()] == \
        [("account", clearing.id, -700, -600)]


def test_the_roll_up_command_folds_the_deltas(app, ctx):
    clearing = ledger.account(Kind.PLATFORM_CLEARING, None)
    ledger.move("fund", memo="m", ref="r", source=clearing,
                target=ledger.account(Kind.FIRM_AVAILABLE, 1), amount_cents=250)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["pay", "roll-up"])
    assert result.exit_code == 0, result.output
    assert "1 entries" in result.output
    db.session.expire_all()
    assert _deltas() == 0 and _running(clearing) == -250 and ledger.verify() == []


def _threads_app(app):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("concurrency is proved on PostgreSQL")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                  "SQLALCHEMY_ENGINE_OPTIONS": {"poolclass": NullPool}})


def test_posts_to_a_platform_account_do_not_wait_on_each_other(app):
    """A post holding its transaction open does not hold the platform's account: another
    post to it goes through under a lock timeout that a row lock would exceed."""
    other = _threads_app(app)
    with other.app_context():
        fees = ledger.account(Kind.PLATFORM_FEES, None)
        a1, a2 = ledger.account(Kind.FIRM_AVAILABLE, 1), ledger.account(Kind.FIRM_AVAILABLE, 2)
        db.session.commit()
        ids = fees.id, a1.id, a2.id
    opened, done = threading.Event(), threading.Event()

    def holder():
        with other.app_context():
            f, a = db.session.get(LedgerAccount, ids[0]), db.session.get(LedgerAccount, ids[1])
            ledger.move("held", memo="m", ref="r", source=a, target=f, amount_cents=5)
            opened.set()
            done.wait(timeout=30)
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert opened.wait(timeout=30)
        with other.app_context():
            db.session.execute(text("SET lock_timeout = '300ms'"))
            f, a = db.session.get(LedgerAccount, ids[0]), db.session.get(LedgerAccount, ids[2])
            ledger.move("other", memo="m", ref="r", source=a, target=f, amount_cents=7)
            db.session.commit()
            # The firm's own account is locked, as it must be for its overdraft check.
            db.session.execute(text("SET lock_timeout = '300ms'"))
            a = db.session.get(LedgerAccount, ids[1])
            with pytest.raises(OperationalError, match="lock timeout"):
                ledger.move("blocked", memo="m", ref="r", source=a, target=f, amount_cents=9)
            db.session.rollback()
            db.session.remove()
    finally:
        done.set()
        thread.join(timeout=30)
    with app.app_context():
        assert ledger.balance_of(Kind.PLATFORM_FEES, None) == 12
        assert ledger.verify() == []


def test_concurrent_posts_and_roll_ups_keep_every_balance_exact(app):
    """Four posting threads, one rolling up all along and one reading the trial balance:
    every read balances, and afterwards each balance equals its entries."""
    other = _threads_app(app)
    posters, each = 4, 40
    with other.app_context():
        clearing = ledger.account(Kind.PLATFORM_CLEARING, None)
        fees = ledger.account(Kind.PLATFORM_FEES, None)
        firms = [ledger.account(Kind.FIRM_AVAILABLE, i + 1) for i in range(posters)]
        techs = [ledger.account(Kind.TECH_PAYABLE, i + 1) for i in range(posters)]
        db.session.commit()
        ids = clearing.id, fees.id, [f.id for f in firms], [t.id for t in techs]
    stop = threading.Event()
    errors: list[BaseException] = []
    reads: list[dict] = []
    rolls: list[int] = []
    barrier = threading.Barrier(posters + 2)

    def guarded(fn):
        def run(*args):
            try:
                with other.app_context():
                    fn(*args)
                    db.session.remove()
            except BaseException as exc:   # noqa: BLE001  (reported by the test)
                errors.append(exc)
                stop.set()
        return run

    @guarded
    def poster(i):
        c, f = db.session.get(LedgerAccount, ids[0]), db.session.get(LedgerAccount, ids[1])
        firm, tech = (db.session.get(LedgerAccount, ids[2][i]),
                      db.session.get(LedgerAccount, ids[3][i]))
        db.session.commit()
        barrier.wait(timeout=30)
        for n in range(each):
            ledger.move(f"fund:{i}:{n}", memo="m", ref="r", source=c, target=firm,
                        amount_cents=1_000)
            db.session.commit()
            ledger.post(f"approve:{i}:{n}", memo="m", ref="r",
                        lines=[(firm, -1_000), (tech, 900), (f, 100)])
            db.session.commit()

    @guarded
    def roller():
        barrier.wait(timeout=30)
        while not stop.is_set():
            rolls.append(sum(ledger.roll_up().values()))
            db.session.commit()

    @guarded
    def reader():
        barrier.wait(timeout=30)
        while not stop.is_set():
            reads.append(ledger.trial_balance())
            db.session.rollback()

    threads = [threading.Thread(target=poster, args=(i,)) for i in range(posters)]
    helpers = [threading.Thread(target=roller), threading.Thread(target=reader)]
    for t in threads + helpers:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    for t in helpers:
        t.join(timeout=30)
    assert errors == []
    assert sum(rolls) > 0 and len(reads) > 0
    assert all(read in ({}, {"USD": 0}) for read in reads)
    with app.app_context():
        total = posters * each
        assert ledger.balance_of(Kind.PLATFORM_CLEARING, None) == -1_000 * total
        assert ledger.balance_of(Kind.PLATFORM_FEES, None) == 100 * total
        final = sum(ledger.roll_up().values())
        db.session.commit()
        assert sum(rolls) + final == 2 * total        # every delta folded exactly once
        assert _deltas() == 0
        assert _running(db.session.get(LedgerAccount, ids[1])) == 100 * total
        assert ledger.verify() == [] and ledger.trial_balance() == {"USD": 0}
