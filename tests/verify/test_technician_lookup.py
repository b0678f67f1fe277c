"""The credential status page takes a technician the firm works with, picked or typed by
name: a name that is not exactly one of them says so, lists whom it could be, and never
reveals technicians the firm does not work with."""
from __future__ import annotations

import pytest

from marketplace.extensions import db
from tests import factories
from tests.pages import links, text
from tests.verify.helpers import approved, ctype, work_with


@pytest.fixture
def people(ctx):
    owner = factories.firm_user(email="owner@example.com")
    dana = factories.technician(name="Dana Reyes")
    dale = factories.technician(name="Dale Ortiz")
    stranger = factories.technician(name="Dan Stranger")
    work_with(owner, dana)
    from marketplace.find import pools
    pool = db.session.query(pools.TalentPool).filter_by(firm_id=owner.firm.id).one()
    pools.invite(owner, pool, dale.technician.id)
    pools.accept_invitation(dale.technician, pool)  # an invitation alone would not count
    approved(dana, ctype("General liability insurance"), None)
    db.session.commit()
    return {"owner": owner, "dana": dana, "dale": dale, "stranger": stranger}


def test_a_typed_name_finds_the_technician(client, auth, people):
    auth.login("owner@example.com")
    page = client.get("/verify/technicians?technician=dana+reyes").get_data(True)
    assert "General liability insurance" in text(page)
    dana = people["dana"].technician
    assert links(page)["Dana Reyes"] == f"/technicians/{dana.id}"
    assert f'value="Dana Reyes · Dallas, TX · #{dana.id}"' in page


def test_a_name_matching_several_lists_them_to_pick_from(client, auth, people):
    auth.login("owner@example.com")
    page = client.get("/verify/technicians?technician=Da").get_data(True)
    assert "2 technicians match “Da”: pick one from the list." in text(page)
    picks = links(page, "pick-candidates")
    dale = people["dale"].technician
    assert list(picks)[0] == f"Dale Ortiz · Dallas, TX · #{dale.id}"
    assert "Dan Stranger" not in page
    chosen = client.get(picks[f"Dale Ortiz · Dallas, TX · #{dale.id}"]).get_data(True)
    assert "Dale Ortiz" in text(chosen) and "No credentials on file." in text(chosen)


def test_a_technician_the_firm_does_not_work_with_is_not_found(client, auth, people):
    auth.login("owner@example.com")
    page = client.get("/verify/technicians?technician=Dan+Stranger").get_data(True)
    assert "No technician called “Dan Stranger” among the technicians you work with." \
        in text(page)
    stranger = people["stranger"].technician
    page = client.get(f"/verify/technicians?technician=Dan+Stranger+%23{stranger.id}")
    assert f"There is no technician #{stranger.id} among the technicians you work with." \
        in text(page.get_data(True))
    assert client.get(f"/verify/technicians?technician={stranger.id}").status_code == 404
    found = client.get("/verify/technicians/suggest?q=da").get_json()
    assert [s["label"].split(" · ")[0] for s in found] == ["Dale Ortiz", "Dana Reyes"]
