"""Sessions end on the server: sign-out and password changes invalidate captured cookies;
the CSRF token is a new one after sign-in."""
from __future__ import annotations

import re

from marketplace.accounts.models import User
from marketplace.extensions import db
from tests import factories

HOME = "/settings/password"   # 200 when signed in, a redirect to /login when not


def _sign_in(client, user, **extra):
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                           **extra})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _replay(app, name: str, value: str):
    """A fresh browser that only has the captured cookie."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def test_session_cookie_captured_before_sign_out_does_not_sign_in_afterwards(app, ctx):
    user = factories.technician()
    client = app.test_client()
    _sign_in(client, user)
    captured = client.get_cookie("session").value
    assert _replay(app, "session", captured).get(HOME).status_code == 200

    client.post("/logout")

    assert client.get(HOME).status_code == 302
    replayed = _replay(app, "session", captured).get(HOME)
    assert replayed.status_code == 302
    assert "/login" in replayed.headers["Location"]


def test_remember_cookie_captured_before_sign_out_does_not_sign_in_afterwards(app, ctx):
    user = factories.technician()
    client = app.test_client()
    _sign_in(client, user, remember="y")
    captured = client.get_cookie("remember_token").value
    # The remember cookie alone signs a new browser in, before sign-out.
    assert _replay(app, "remember_token", captured).get(HOME).status_code == 200

    client.post("/logout")

    assert _replay(app, "remember_token", captured).get(HOME).status_code == 302


def test_remember_cookie_dies_with_a_password_change(app, ctx):
    user = factories.technician()
    client = app.test_client()
    _sign_in(client, user, remember="y")
    captured = client.get_cookie("remember_token").value
    response = client.post("/settings/password", data={"current_password": factories.PASSWORD,
                                                       "new_password": "Sturdy-pass-42"})
    assert response.status_code == 302
    assert client.get(HOME).status_code == 200          # this browser stays signed in
    assert _replay(app, "remember_token", captured).get(HOME).status_code == 302


def test_sign_out_bumps_the_generation_and_signing_in_again_works(app, ctx):
    user = factories.technician()
    before = user.session_version
    client = app.test_client()
    _sign_in(client, user)
    client.post("/logout")
    db.session.expire_all()
    assert db.session.get(User, user.id).session_version == before + 1
    _sign_in(client, user)
    assert client.get(HOME).status_code == 200


def _page_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def test_csrf_token_rotates_at_sign_in(backend_app, ctx):
    backend_app.config["WTF_CSRF_ENABLED"] = True
    try:
        user = factories.technician()
        client = backend_app.test_client()
        before = _page_token(client, "/login")
        with client.session_transaction() as session:
            raw_before = session["csrf_token"]
        ok = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                         "csrf_token": before})
        assert ok.status_code == 302

        after = _page_token(client, "/settings/password")
        with client.session_transaction() as session:
            assert session["csrf_token"] != raw_before
        # A token learnt before sign-in (e.g. planted on a shared computer) is refused ...
        stale = client.post("/settings/password", data={
            "current_password": factories.PASSWORD, "new_password": "Sturdy-pass-42",
            "csrf_token": before})
        assert stale.status_code == 400
        # ... and the new one works.
        fresh = client.post("/logout", data={"csrf_token": after})
        assert fresh.status_code == 302
    finally:
        backend_app.config["WTF_CSRF_ENABLED"] = False
