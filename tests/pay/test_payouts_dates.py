"""The payout date a technician is shown before accepting is the day the transfer is made."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.engage import offers
from marketplace.engage.models import Offer
from marketplace.extensions import db
from marketplace.pay import approval, transfers
from marketplace.pay.payout_dates import local_day
from tests import factories
from tests.find.helpers import DALLAS, START, tech_at
from tests.pay.books_helpers import draft_work, fund, route, submitted
from tests.pay.payout_helpers import intent_of, onboard, set_terms, transfers_at_stripe

SHOWN = re.compile(r"Paid on <strong>(\w{3} \w{3} \d{1,2}, \d{4})</strong>")


def _offer_page_date(client, tech, offer_id: int):
    client.post("/login", data={"email": tech.user.email, "password": factories.PASSWORD})
    page = client.get(f"/offers/{offer_id}")
    assert page.status_code == 200
    found = SHOWN.search(page.get_data(as_text=True))
    assert found, "the offer does not say when the technician is paid"
    return datetime.strptime(found.group(1), "%a %b %d, %Y").date()


@pytest.mark.parametrize("auto_days, terms", [(3, 7), (5, 0)])
def test_the_date_on_the_offer_is_the_day_the_transfer_is_made(pay_app, stripe_sandbox, ctx,
                                                              client, auto_days, terms):
    clock.travel_to(START - timedelta(days=3))
    owner, job = draft_work()
    tech = tech_at(*DALLAS)
    fund(owner.firm.id, 30000)
    set_terms(owner.firm.id, terms=terms, auto_days=auto_days)
    onboard(stripe_sandbox, tech)
    stripe_sandbox.fund_platform(1_000_000)
    route(owner, job, tech)
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))
    shown = _offer_page_date(client, tech, offer.id)
    assert shown == local_day(job.ends_at, job.timezone) + timedelta(days=auto_days + terms)

    offers.accept_offer(tech.user, offer)
    db.session.commit()
    submitted(tech, job)             # on the last day; the firm never answers
    paid_at = None
    # The beat, every three hours (the sweep runs every 30 s; a due day starts at the
    # site's midnight, so the first run on it is on that day whatever the step).
    for _step in range(8 * (auto_days + terms + 2)):
        clock.advance(timedelta(hours=3))
        approval.auto_approve_due()
        db.session.commit()
        transfers.run()
        if transfers_at_stripe(stripe_sandbox, job.id):
            paid_at = clock.now()
            break
    assert paid_at is not None, "never paid"
    assert len(transfers_at_stripe(stripe_sandbox, job.id)) == 1
    assert local_day(intent_of(job.id).sent_at, job.timezone) == shown
    assert local_day(paid_at, job.timezone) == shown   # the first step it was there
