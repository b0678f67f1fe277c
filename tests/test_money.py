"""Money: integer cents, one way to read amounts in, one way to show them."""
from __future__ import annotations

import pytest

from marketplace.core import money
from marketplace.core.money import (
    MAX_CENTS,
    cents,
    cents_to_decimal_str,
    format_money,
    format_terms,
    hourly_cents,
    parse_amount,
)
from marketplace.errors import ValidationFailed
from marketplace.find.assignments import max_payable_cents
from marketplace.find.models import Pricing


def test_negative_amounts_put_the_sign_before_the_symbol():
    assert format_money(-1250) == "-$12.50"
    assert format_money(-1250, "EUR") == "-€12.50"
    assert format_money(-123456789, "CAD") == "-CA$1,234,567.89"


def test_negative_amounts_prefill_a_form_with_their_own_cents():
    assert cents_to_decimal_str(-1250) == "-12.50"
    assert cents_to_decimal_str(-5) == "-0.05"
    assert cents_to_decimal_str(100_000_050) == "1000000.50"


def test_terms_show_price_and_expenses_apart():
    assert format_terms(36000, 2500, "USD") == "$360.00 + $25.00 expenses"
    assert format_terms(36000, 0, "GBP") == "£360.00"
    assert format_terms(36000, None, "USD") == "$360.00"


@pytest.mark.parametrize("value", [0, 1, 36000, MAX_CENTS])
def test_cents_takes_whole_non_negative_amounts_within_the_bound(value):
    assert cents(value, "price_cents") == value


@pytest.mark.parametrize("value,says", [
    (True, "whole number"), (False, "whole number"), (1.5, "whole number"),
    (100.0, "whole number"), ("100", "whole number"), ([100], "whole number"),
    ({"cents": 1}, "whole number"), (-1, "0 or more"), (MAX_CENTS + 1, "at most"),
    (10**30, "at most"), (None, "Enter"),
])
def test_cents_refuses_anything_else_naming_the_field(value, says):
    with pytest.raises(ValidationFailed) as exc:
        cents(value, "expenses_cents")
    assert list(exc.value.fields) == ["expenses_cents"]
    assert says in exc.value.fields["expenses_cents"]


def test_cents_minimum_can_require_a_positive_amount():
    with pytest.raises(ValidationFailed) as exc:
        cents(0, "price_cents", minimum=1)
    assert "price_cents" in exc.value.fields
    assert cents(1, "price_cents", minimum=1) == 1


def test_typed_amounts_share_the_bound():
    assert parse_amount("100000") == MAX_CENTS
    with pytest.raises(ValidationFailed, match="too large"):
        parse_amount("100000.01")
    assert parse_amount("1000000", maximum_cents=money.MAX_COVERAGE_CENTS) == 100_000_000


@pytest.mark.parametrize("rate,minutes,expected", [
    (2475, 90, 3713),   # 3712.5 rounds half up, not to even
    (2525, 90, 3788),
    (3333, 60, 3333),
    (100, 1, 2),        # 1.67 -> 2
    (100, 0, 0),
])
def test_hourly_pay_is_integer_arithmetic_rounded_half_up(rate, minutes, expected):
    assert hourly_cents(rate, minutes) == expected


def test_hours_become_whole_minutes():
    assert money.minutes(1.5) == 90
    assert money.minutes(0.1) == 6
    assert money.minutes(2.0083) == 120  # half a minute and less rounds down
    assert money.minutes(None) == 0


@pytest.mark.parametrize("pricing,rate,hourly,max_hours,fixed_hours,expected", [
    (Pricing.FIXED, 18000, None, None, None, 18000),
    (Pricing.HOURLY, 0, 2475, 1.5, None, 3713),
    (Pricing.HOURLY, 0, 4500, 1.1, None, 4950),
    (Pricing.BLENDED, 20000, 2475, 3.5, 2.0, 23713),
    (Pricing.BLENDED, 20000, 6000, 2.0, 2.0, 20000),
])
def test_the_budget_is_computed_in_minutes_and_cents(pricing, rate, hourly, max_hours,
                                                     fixed_hours, expected):
    assert max_payable_cents(pricing, rate, hourly, max_hours, fixed_hours) == expected


def test_the_money_filter_is_the_one_formatter(app):
    assert app.jinja_env.filters["money"] is format_money
    assert app.jinja_env.from_string("{{ -1250|money }}").render() == "-$12.50"
    assert app.jinja_env.from_string("{{ 100000050|money_input }}").render() == "1000000.50"


def test_requirement_set_form_keeps_the_cents_of_a_minimum_coverage(client, auth, ctx):
    from marketplace.extensions import db
    from marketplace.verify.models import (
        CredentialKind,
        CredentialType,
        RequirementItem,
        RequirementSet,
    )
    from tests import factories
    owner = factories.firm_user(email="owner@example.com")
    ctype = CredentialType(name="General liability", kind=CredentialKind.INSURANCE)
    rset = RequirementSet(name="Insured", firm_id=owner.membership.firm_id)
    db.session.add_all([ctype, rset])
    db.session.flush()
    db.session.add(RequirementItem(requirement_set_id=rset.id, credential_type_id=ctype.id,
                                   min_coverage_cents=100_000_050))
    db.session.commit()
    auth.login("owner@example.com")
    page = client.get(f"/verify/requirements/{rset.id}").get_data(as_text=True)
    assert f'name="cov-{ctype.id}"' in page
    assert 'value="1000000.50"' in page
    listing = client.get("/verify/requirements").get_data(as_text=True)
    assert "$1,000,000.50" in listing


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    from tests import services
    if request.param == "postgresql":
        if not services.postgres_available():
            services.missing("PostgreSQL")
        url = services.create_postgres_database("mp_money")
        yield url
        services.drop_postgres_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'money.sqlite3'}"


_T = "'2026-01-01 00:00:00+00:00'"
_ROWS = [
    ("INSERT INTO users (id, email, name, password_hash, kind, is_enabled, session_version, "
     f"created_at) VALUES (1, 'f@x.example', 'F', 'x', 'firm', :yes, 1, {_T}), "
     f"(2, 't@x.example', 'T', 'x', 'technician', :yes, 1, {_T})"),
    ("INSERT INTO firms (id, name, slug, timezone, verification_status, created_at) "
     f"VALUES (1, 'F', 'f', 'UTC', 'verified', {_T})"),
    ("INSERT INTO technicians (id, user_id, headline, bio, timezone, lat, lon, travel_radius_km, "
     "hourly_rate_cents, currency, availability, status, created_at, updated_at) VALUES "
     f"(2, 2, '', '', 'UTC', 32.78, -96.8, 40, 5000, 'USD', '{{}}', 'active', {_T}, {_T})"),
    ("INSERT INTO assignments (id, firm_id, created_by_id, title, description, address, lat, lon, "
     "timezone, radius_km, schedule_kind, starts_at, ends_at, pricing, rate_cents, budget_cents, "
     "currency, payment_terms_days, checklist, status, assignee_id, version, created_at, "
     f"updated_at) VALUES (1, 1, 1, 'Folded', '', 'x', 0, 0, 'UTC', 50, 'window', {_T}, {_T}, "
     f"'fixed', 30000, 30000, 'CAD', 30, '[]', 'assigned', 2, 1, {_T}, {_T}), "
     f"(2, 1, 1, 'Cancelled', '', 'x', 0, 0, 'UTC', 50, 'window', {_T}, {_T}, 'fixed', 20000, "
     f"20000, 'EUR', 30, '[]', 'cancelled', NULL, 1, {_T}, {_T})"),
    ("INSERT INTO offers (id, assignment_id, technician_id, source, status, price_cents, "
     f"expires_at, created_at) VALUES (1, 1, 2, 'routed', 'accepted', 38500, {_T}, {_T}), "
     f"(2, 2, 2, 'routed', 'closed', 20000, {_T}, {_T})"),
    ("INSERT INTO counteroffers (id, offer_id, proposed_by, price_cents, expenses_cents, note, "
     f"status, created_at) VALUES (1, 1, 'technician', 36000, 2500, '', 'accepted', {_T}), "
     f"(2, 2, 'technician', 25000, 0, '', 'rejected', {_T})"),
    ("INSERT INTO cancellations (id, assignment_id, cancelled_by_id, reason, fee_cents, "
     f"created_at) VALUES (1, 2, 1, 'Moved', 5000, {_T})"),
]


def test_money_migration_carries_currencies_and_unfolds_accepted_expenses(empty_database):
    """0010: existing rows take their assignment's currency; a price that folded in the
    accepted counteroffer's expenses is split again; downgrading folds it back."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from marketplace import create_app
    from marketplace.extensions import db
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="0009_outbox")
        with db.engine.begin() as conn:
            for sql in _ROWS:
                conn.execute(text(sql), {"yes": True})
        upgrade(revision="0010_money_currency")
        with db.engine.connect() as conn:
            read = lambda sql: [tuple(r) for r in conn.execute(text(sql))]
            assert read("SELECT id, price_cents, expenses_cents, currency FROM offers "
                        "ORDER BY id") == [(1, 36000, 2500, "CAD"), (2, 20000, 0, "EUR")]
            assert read("SELECT id, currency FROM counteroffers ORDER BY id") == [
                (1, "CAD"), (2, "EUR")]
            assert read("SELECT currency FROM cancellations") == [("EUR",)]
            assert read("SELECT id, agreed_price_cents, agreed_expenses_cents FROM assignments "
                        "ORDER BY id") == [(1, 36000, 2500), (2, None, None)]
        downgrade(revision="0009_outbox")
        with db.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(text(
                "SELECT id, price_cents FROM offers ORDER BY id"))] == [(1, 38500), (2, 20000)]
        db.engine.dispose()
