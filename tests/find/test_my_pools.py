"""The technician's pools page: invitations to accept or decline, pools to leave, pools to join."""
from __future__ import annotations

import pytest

from marketplace.accounts.tokens import issue_api_token
from marketplace.extensions import db
from marketplace.find import pools
from marketplace.find.models import PoolMember, PoolMemberStatus
from tests import factories
from tests.find.helpers import requirement_set


@pytest.fixture
def world(ctx):
    owner = factories.firm_user()
    owner.firm.name = "Northstar IT"
    tech = factories.technician(email="tech@example.com")
    invited = pools.create_pool(owner, name="Dallas cabling", visibility="invite_only")
    pools.invite(owner, invited, tech.technician.id)
    public = pools.create_pool(owner, name="Dallas low-voltage", visibility="public",
                               description="Weekend callouts.")
    private = pools.create_pool(owner, name="Inner circle", visibility="private")
    db.session.commit()
    return {"owner": owner, "tech": tech, "invited": invited, "public": public,
            "private": private}


def _status(pool, tech) -> PoolMemberStatus:
    db.session.expire_all()
    return db.session.query(PoolMember).filter_by(
        pool_id=pool.id, technician_id=tech.technician.id).one().status


def test_technician_accepts_an_invitation_and_leaves_later(client, auth, world):
    auth.login("tech@example.com")
    home = client.get("/tech").get_data(True)
    assert 'href="/my/pools"' in home
    page = client.get("/my/pools").get_data(True)
    assert "Dallas cabling" in page and "Northstar IT" in page
    assert "Dallas low-voltage" in page and "Inner circle" not in page
    assert "<script>" not in page and 'style="' not in page
    r = client.post(f"/my/pools/{world['invited'].id}/join")
    assert r.status_code == 302 and _status(world["invited"], world["tech"]) == "active"
    assert "Leave" in client.get("/my/pools").get_data(True)
    client.post(f"/my/pools/{world['invited'].id}/leave")
    assert _status(world["invited"], world["tech"]) == PoolMemberStatus.REMOVED
    assert "Not in any pool yet" in client.get("/my/pools").get_data(True)


def test_technician_declines_an_invitation(client, auth, world):
    auth.login("tech@example.com")
    client.post(f"/my/pools/{world['invited'].id}/decline")
    assert _status(world["invited"], world["tech"]) == PoolMemberStatus.DECLINED
    assert "No invitations waiting." in client.get("/my/pools").get_data(True)


def test_technician_applies_to_a_public_pool_and_can_withdraw(client, auth, world):
    auth.login("tech@example.com")
    client.post(f"/my/pools/{world['public'].id}/join")
    assert _status(world["public"], world["tech"]) == PoolMemberStatus.APPLIED
    page = client.get("/my/pools").get_data(True)
    assert "Withdraw application" in page
    client.post(f"/my/pools/{world['public'].id}/leave")
    assert _status(world["public"], world["tech"]) == PoolMemberStatus.REMOVED


def test_applying_without_the_required_credentials_says_why(client, auth, world):
    rs, _ = requirement_set(world["owner"].firm)
    world["public"].requirement_set_id = rs.id
    db.session.commit()
    auth.login("tech@example.com")
    r = client.post(f"/my/pools/{world['public'].id}/join")
    assert "requirements" in client.get(r.headers["Location"]).get_data(True)
    assert db.session.query(PoolMember).filter_by(pool_id=world["public"].id).count() == 0


def test_a_private_pool_cannot_be_joined_and_others_rows_cannot_be_touched(client, auth,
                                                                           world):
    factories.technician(email="other@example.com")
    auth.login("other@example.com")
    assert client.post(f"/my/pools/{world['private'].id}/join").status_code == 404
    assert client.post(f"/my/pools/{world['invited'].id}/decline").status_code == 404
    assert _status(world["invited"], world["tech"]) == PoolMemberStatus.INVITED


def test_api_lists_declines_and_leaves(client, world):
    _, raw = issue_api_token(world["tech"], "t")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    mine = client.get("/api/v1/my/pools", headers=headers).json
    assert [m["pool"]["name"] for m in mine["invitations"]] == ["Dallas cabling"]
    assert [p["name"] for p in mine["open_pools"]] == ["Dallas low-voltage"]
    declined = client.post(f"/api/v1/pools/{world['invited'].id}/decline", headers=headers)
    assert declined.json["status"] == "declined"
    again = client.post(f"/api/v1/pools/{world['invited'].id}/decline", headers=headers)
    assert again.status_code == 409
    client.post(f"/api/v1/pools/{world['public'].id}/join", headers=headers)
    left = client.post(f"/api/v1/pools/{world['public'].id}/leave", headers=headers)
    assert left.json["status"] == "removed" and left.json["removed_reason"] == "left"
