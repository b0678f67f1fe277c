"""1099-NEC totals: paid in the calendar year, against that year's threshold."""
from __future__ import annotations

import pytest

from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.pay import tax
from tests.pay.payout_helpers import approved, intent_of


@pytest.mark.parametrize("year, cents", [(2019, 60_000), (2025, 60_000), (2026, 200_000),
                                         (2031, 200_000)])
def test_the_threshold_is_600_through_2025_and_2000_from_2026(ctx, year, cents):
    assert tax.threshold_cents(year) == cents


def test_later_years_take_their_configured_threshold(app, ctx):
    app.config["TAX_1099_THRESHOLDS"] = {2028: 205_000}
    try:
        assert [tax.threshold_cents(y) for y in (2027, 2028, 2030)] == [200_000, 205_000, 205_000]
    finally:
        app.config.pop("TAX_1099_THRESHOLDS")


def test_annual_totals_mark_who_reaches_the_threshold(pay_app, stripe_sandbox, ctx, client):
    from tests import factories
    _, big, big_job, _ = approved(stripe_sandbox, terms=0, budget=250_000)
    _, small, small_job, _ = approved(stripe_sandbox, terms=0, budget=20_000)
    year = intent_of(big_job.id).sent_at.year
    rows = {r.technician_id: r for r in tax.annual_totals(year)}
    assert rows[big.id].paid_cents == intent_of(big_job.id).amount_cents >= 200_000
    assert rows[big.id].reportable and not rows[small.id].reportable
    assert rows[small.id].paid_cents == intent_of(small_job.id).amount_cents
    assert tax.annual_totals(year - 1) == []
    text = tax.annual_csv(year)
    assert text.splitlines()[0] == "technician_id,name,email,paid,payouts,file_1099_nec"
    assert f"{big.id},{big.user.name},{big.user.email}," in text
    with pytest.raises(ValidationFailed):
        tax.annual_totals("next year")
    admin = factories.admin()
    db.session.commit()
    client.post("/login", data={"email": admin.email, "password": factories.PASSWORD})
    page = client.get(f"/pay/finance/tax?year={year}").get_data(as_text=True)
    assert "$2,000.00" in page and big.user.name in page
