"""Random sequences of money movements against an independent model: every transaction
balances and every balance (running, or running plus deltas for the platform's rolled-up
accounts, with roll-ups at random points) equals its recomputation from the entries."""
from __future__ import annotations

import itertools
from collections import defaultdict
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.pay import approval, ledger, reserves
from marketplace.pay.ledger import Kind

FEE_BPS = 1000
CREDIT = {0: 0, 1: 5000}            # firm index -> net-terms credit limit
_examples = itertools.count(1)

amounts = st.integers(min_value=1, max_value=20000)
ops = st.lists(st.one_of(
    st.tuples(st.just("fund"), st.integers(0, 1), amounts),
    st.tuples(st.just("reserve"), st.integers(0, 5), amounts),
    st.tuples(st.just("expense"), st.integers(0, 5), amounts),
    st.tuples(st.just("release"), st.integers(0, 5), st.integers(0, 3000)),
    st.tuples(st.just("approve"), st.integers(0, 5), amounts, st.integers(0, 5000)),
    st.tuples(st.just("refund"), st.integers(0, 1), amounts),
    st.tuples(st.just("dispute"), st.integers(0, 1), amounts),
    st.tuples(st.just("payout"), st.integers(0, 2), amounts),
    st.tuples(st.just("reversal"), st.integers(0, 2), amounts),
    st.tuples(st.just("roll_up"), st.just(0), st.just(0)),
), min_size=1, max_size=25)


class Model:
    """The oracle: balances by plain arithmetic on the rules, no ledger code."""

    def __init__(self):
        self.bal: dict[tuple[Kind, int], int] = defaultdict(int)
        self.held: dict[int, int] = defaultdict(int)   # assignment -> reserve
        self.closed: set[int] = set()

    def move(self, source, target, x):
        self.bal[source] -= x
        self.bal[target] += x

    def reserve(self, firm, asg, x, limit, overdraw=False):
        avail = self.bal[(Kind.FIRM_AVAILABLE, firm)]
        used = -self.bal[(Kind.FIRM_CREDIT, firm)]
        a = min(x, max(0, avail))
        c = min(x - a, max(0, limit - used))
        if overdraw:
            c = x - a
        self.bal[(Kind.FIRM_AVAILABLE, firm)] -= a
        self.bal[(Kind.FIRM_CREDIT, firm)] -= c
        self.bal[(Kind.FIRM_RESERVED, firm)] += a + c
        self.held[asg] += a + c

    def give_back(self, firm, x):
        repay = min(max(0, -self.bal[(Kind.FIRM_CREDIT, firm)]), x)
        self.bal[(Kind.FIRM_CREDIT, firm)] += repay
        self.bal[(Kind.FIRM_AVAILABLE, firm)] += x - repay


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops)
def test_random_money_movements_keep_the_books_whole(app, ctx, monkeypatch, steps):
    run = next(_examples)
    base = run * 100
    firms = [base + 1, base + 2]
    techs = [base + 11, base + 12, base + 13]
    monkeypatch.setattr(reserves, "credit_limit_cents",
                        lambda firm_id, currency="USD": CREDIT[firms.index(firm_id)])
    asgs = [SimpleNamespace(id=base + 50 + i, firm_id=firms[i % 2], assignee_id=techs[i % 3],
                            currency="USD", title=f"job {i}") for i in range(6)]
    model = Model()
    clearing = ledger.account(Kind.PLATFORM_CLEARING, None)
    platform = [Kind.PLATFORM_CLEARING, Kind.PLATFORM_FEES, Kind.PLATFORM_STRIPE_FEES]
    start = {kind: ledger.balance_of(kind, None) for kind in platform}   # earlier examples'
    seq = itertools.count()

    def key(name):
        return f"p{run}:{name}:{next(seq)}"

    def acct(kind, owner):
        return ledger.account(kind, owner)

    for op in steps:
        name, i, x = op[0], op[1], op[2]
        if name == "roll_up":     # the platform's deltas folded in mid-sequence
            ledger.roll_up()
        elif name == "fund":
            firm = firms[i]
            ledger.move(key("fund"), memo="m", ref="r", source=clearing,
                        target=acct(Kind.FIRM_AVAILABLE, firm), amount_cents=x)
            model.move((Kind.PLATFORM_CLEARING, 0), (Kind.FIRM_AVAILABLE, firm), x)
        elif name in ("reserve", "expense"):
            a = asgs[i]
            if a.id in model.closed:
                continue
            got = reserves.reserve(a, x, key(name), memo="m", required=False)
            before = model.held[a.id]
            model.reserve(a.firm_id, a.id, x, CREDIT[firms.index(a.firm_id)])
            assert got == model.held[a.id] - before
        elif name == "release":
            a = asgs[i]
            if a.id in model.closed:
                continue
            tx, fee = reserves.release(a, key("release"), memo="m", fee_cents=x,
                                       technician_id=a.assignee_id)
            held = model.held.pop(a.id, 0)
            if held:
                expected_fee = min(x, held)
                assert fee == expected_fee
                model.bal[(Kind.FIRM_RESERVED, a.firm_id)] -= held
                model.bal[(Kind.TECH_PAYABLE, a.assignee_id)] += expected_fee
                model.give_back(a.firm_id, held - expected_fee)
            model.closed.add(a.id)
        elif name == "approve":
            a = asgs[i]
            if a.id in model.closed:
                continue
            labour, expenses = x, op[3]
            total = labour + expenses
            approval.settle(a, total, labour, "USD", FEE_BPS)
            if total > model.held[a.id]:
                model.reserve(a.firm_id, a.id, total - model.held[a.id], 0, overdraw=True)
            held = model.held.pop(a.id)
            fee = min((labour * FEE_BPS + 5000) // 10000, total)
            model.bal[(Kind.FIRM_RESERVED, a.firm_id)] -= held
            model.bal[(Kind.TECH_PAYABLE, a.assignee_id)] += total - fee
            model.bal[(Kind.PLATFORM_FEES, 0)] += fee
            model.give_back(a.firm_id, held - total)
            model.closed.add(a.id)
        elif name in ("refund", "dispute"):
            firm = firms[i]
            have = model.bal[(Kind.FIRM_AVAILABLE, firm)]
            if name == "refund":    # only what is free can go back to the card
                x = min(x, have)
                if x <= 0:
                    continue
            ledger.move(key(name), memo="m", ref="r", source=acct(Kind.FIRM_AVAILABLE, firm),
                        target=clearing, amount_cents=x)
            model.move((Kind.FIRM_AVAILABLE, firm), (Kind.PLATFORM_CLEARING, 0), x)
            if name == "dispute":   # and Stripe's dispute fee
                ledger.move(key("dfee"), memo="m", ref="r", source=clearing,
                            target=acct(Kind.PLATFORM_STRIPE_FEES, None), amount_cents=1500)
                model.move((Kind.PLATFORM_CLEARING, 0), (Kind.PLATFORM_STRIPE_FEES, 0), 1500)
        elif name == "payout":
            tech = techs[i]
            x = min(x, model.bal[(Kind.TECH_PAYABLE, tech)])
            if x <= 0:
                continue
            ledger.move(key("transfer"), memo="m", ref="r", source=acct(Kind.TECH_PAYABLE, tech),
                        target=acct(Kind.TECH_IN_TRANSIT, tech), amount_cents=x)
            model.move((Kind.TECH_PAYABLE, tech), (Kind.TECH_IN_TRANSIT, tech), x)
        elif name == "reversal":
            tech = techs[i]
            x = min(x, model.bal[(Kind.TECH_IN_TRANSIT, tech)])
            if x <= 0:
                continue
            ledger.move(key("reverse"), memo="m", ref="r",
                        source=acct(Kind.TECH_IN_TRANSIT, tech),
                        target=acct(Kind.TECH_PAYABLE, tech), amount_cents=x // 2 or x)
            model.move((Kind.TECH_IN_TRANSIT, tech), (Kind.TECH_PAYABLE, tech), x // 2 or x)
            rest = x - (x // 2 or x)
            if rest:
                ledger.move(key("paid"), memo="m", ref="r",
                            source=acct(Kind.TECH_IN_TRANSIT, tech),
                            target=acct(Kind.TECH_PAID_OUT, tech), amount_cents=rest)
                model.move((Kind.TECH_IN_TRANSIT, tech), (Kind.TECH_PAID_OUT, tech), rest)
        for (kind, owner), expected in model.bal.items():
            if kind.is_platform:
                expected += start[kind]
            assert ledger.balance_of(kind, owner) == expected, (op, kind, owner)
    for a in asgs:
        assert reserves.reserved_for(a) == model.held.get(a.id, 0)
    db.session.commit()
    assert ledger.verify() == []
    assert ledger.trial_balance() == {"USD": 0}
