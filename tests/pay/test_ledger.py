"""The ledger: balanced, idempotent, immutable; the database refuses what the module refuses."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from marketplace.errors import InvalidState
from marketplace.extensions import db
from marketplace.pay import ledger
from marketplace.pay.ledger import Kind


def _accounts():
    return (ledger.account(Kind.FIRM_AVAILABLE, 1), ledger.account(Kind.FIRM_RESERVED, 1),
            ledger.account(Kind.PLATFORM_CLEARING, None))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_post_moves_money_and_keeps_running_balances(ctx):
    avail, reserved, clearing = _accounts()
    ledger.move("topup:1", memo="Top-up", ref="payment_intent:pi_1", source=clearing,
                target=avail, amount_cents=10_000)
    tx = ledger.post("reserve:7:v1", memo="Reserve", ref="assignment:7",
                     lines=[(avail, -2_500), (reserved, 2_500)])
    db.session.commit()
    assert (ledger.balance(avail), ledger.balance(reserved), ledger.balance(clearing)) == \
        (7_500, 2_500, -10_000)
    assert [e.amount_cents for e in ledger.entries_of(tx)] == [-2_500, 2_500]
    assert ledger.sum_by_ref(Kind.FIRM_RESERVED, 1, "assignment:7") == 2_500
    assert ledger.verify() == []
    assert ledger.trial_balance() == {"USD": 0}


def test_same_key_returns_the_first_transaction_and_different_lines_are_refused(ctx):
    avail, reserved, _ = _accounts()
    first = ledger.move("k1", memo="a", ref="r", source=avail, target=reserved, amount_cents=100)
    again = ledger.move("k1", memo="a", ref="r", source=avail, target=reserved, amount_cents=100)
    assert again.id == first.id
    assert _count(ledger.LedgerEntry) == 2 and ledger.balance(reserved) == 100
    with pytest.raises(InvalidState, match="different transaction"):
        ledger.move("k1", memo="a", ref="r", source=avail, target=reserved, amount_cents=101)
    db.session.commit()
    assert _count(ledger.LedgerTransaction) == 1 and ledger.verify() == []


@pytest.mark.parametrize("lines, reason", [
    (lambda a, r, u: [(a, -100), (r, 99)], "balance"),
    (lambda a, r, u: [(a, 0), (r, 0)], "zero"),
    (lambda a, r, u: [(a, -100)], "two entries"),
    (lambda a, r, u: [(a, -100), (u, 100)], "balance"),        # USD against EUR
    (lambda a, r, u: [(a, -100), (a, 100)], "once"),
    (lambda a, r, u: [(a, -1.5), (r, 1.5)], "whole cents"),
])
def test_the_ledger_refuses_what_does_not_add_up(ctx, lines, reason):
    avail, reserved, _ = _accounts()
    eur = ledger.account(Kind.FIRM_RESERVED, 1, "EUR")
    with pytest.raises(InvalidState, match=reason):
        ledger.post("bad", memo="x", ref="x", lines=lines(avail, reserved, eur))
    assert _count(ledger.LedgerEntry) == 0


def test_an_entry_in_another_currency_than_its_account_is_refused(ctx):
    avail, reserved, _ = _accounts()
    forged = ledger.LedgerAccount(id=reserved.id, kind=reserved.kind, owner_id=1, currency="EUR")
    other = ledger.account(Kind.FIRM_AVAILABLE, 2, "EUR")
    db.session.expunge(reserved)
    with pytest.raises((InvalidState, DBAPIError)):
        ledger.post("fx", memo="x", ref="x", lines=[(other, -5), (forged, 5)])
        db.session.flush()
    db.session.rollback()
    assert _count(ledger.LedgerEntry) == 0


def test_verify_reports_a_running_balance_that_drifted(ctx):
    avail, reserved, _ = _accounts()
    ledger.move("k", memo="a", ref="r", source=avail, target=reserved, amount_cents=300)
    db.session.execute(text("UPDATE ledger_accounts SET balance_cents = 299 WHERE id = :id"),
                       {"id": reserved.id})
    found = ledger.verify()
    assert [(d.what, d.ident, d.expected, d.found) for d in found] == \
        [("account", reserved.id, 300, 299)]


def _pg_only(app):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("the database's own checks are PostgreSQL's")


def _raw_tx(conn, key: str) -> int:
    return conn.execute(text("INSERT INTO ledger_transactions (key, memo, ref, posted_at) "
                             "VALUES (:k, 'raw', 'raw', now()) RETURNING id"), {"k": key}).scalar()


def test_postgres_refuses_an_unbalanced_transaction_at_commit(app, ctx):
    _pg_only(app)
    avail, reserved, _ = _accounts()
    db.session.commit()
    with db.engine.connect() as conn:
        tx = _raw_tx(conn, "raw-unbalanced")
        conn.execute(text("INSERT INTO ledger_entries (transaction_id, account_id, currency, "
                          "amount_cents) VALUES (:t, :a, 'USD', -100), (:t, :r, 'USD', 90)"),
                     {"t": tx, "a": avail.id, "r": reserved.id})
        with pytest.raises(DBAPIError, match="does not balance"):
            conn.commit()
    with db.engine.connect() as conn:   # balanced the same way: accepted
        tx = _raw_tx(conn, "raw-balanced")
        conn.execute(text("INSERT INTO ledger_entries (transaction_id, account_id, currency, "
                          "amount_cents) VALUES (:t, :a, 'USD', -100), (:t, :r, 'USD', 100)"),
                     {"t": tx, "a": avail.id, "r": reserved.id})
        conn.commit()


@pytest.mark.parametrize("statement, error", [
    ("INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_cents) "
     "VALUES (:t, :a, 'USD', 0)", "nonzero"),
    ("INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_cents) "
     "VALUES (:t, :a, 'EUR', 5)", "fk_ledger_entries_account_id"),
    ("UPDATE ledger_entries SET amount_cents = 1 WHERE transaction_id = :t", "append-only"),
    ("DELETE FROM ledger_entries WHERE transaction_id = :t", "append-only"),
    ("DELETE FROM ledger_transactions WHERE id = :t", "append-only"),
])
def test_postgres_refuses_zero_foreign_currency_and_changed_entries(app, ctx, statement, error):
    _pg_only(app)
    avail, reserved, _ = _accounts()
    tx = ledger.move("k", memo="a", ref="r", source=avail, target=reserved, amount_cents=300)
    db.session.commit()
    with db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match=error):
            conn.execute(text(statement), {"t": tx.id, "a": avail.id})
    assert ledger.verify() == []


def test_postgres_keeps_one_generic_plan_for_the_ledgers_functions(app, ctx):
    """Planned once, not at every post (custom plans for array parameters were a quarter
    of the database's work): a function recreated without its setting fails this."""
    _pg_only(app)
    settings = dict(db.session.execute(text(
        "SELECT proname, array_to_string(proconfig, ',') FROM pg_proc "
        "WHERE proname IN ('ledger_post', 'ledger_check_balanced')")).all())
    assert settings == {"ledger_post": "plan_cache_mode=force_generic_plan",
                        "ledger_check_balanced": "plan_cache_mode=force_generic_plan"}
    avail, reserved, _ = _accounts()
    for n in range(8):      # past the plan cache's first five custom plans: still right
        ledger.move(f"plan-{n}", memo="m", ref="r", source=avail, target=reserved,
                    amount_cents=100 + n)
    assert ledger.balance(reserved) == sum(100 + n for n in range(8))
    db.session.commit()
    assert ledger.verify() == []


def test_postgres_posts_past_the_32_bit_ids(app, ctx):
    """A ledger is never pruned: its transaction and entry ids go past 2**31."""
    _pg_only(app)
    avail, reserved, _ = _accounts()
    db.session.commit()
    big = 2 ** 31 + 7
    db.session.execute(text(f"SELECT setval('ledger_transactions_id_seq', {big})"))
    db.session.execute(text(f"SELECT setval('ledger_entries_id_seq', {big})"))
    tx = ledger.move("past-32-bits", memo="m", ref="r", source=avail, target=reserved,
                     amount_cents=500)
    db.session.commit()
    assert tx.id > 2 ** 31
    assert [e.id > 2 ** 31 for e in ledger.entries_of(tx)] == [True, True]
    assert ledger.move("past-32-bits", memo="m", ref="r", source=avail, target=reserved,
                       amount_cents=500).id == tx.id
    assert ledger.balance(reserved) == 500 and ledger.verify() == []
