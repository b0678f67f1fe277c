"""Geocoding: gazetteer first, cache next, Nominatim only when configured; never (0, 0)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.find.models import GeocodeCache
from marketplace.integrations import geocoding


def test_zip_code_in_an_address_resolves_offline_with_its_timezone(ctx):
    loc = geocoding.geocode("1500 Marilla St, Dallas, TX 75201")
    assert loc.source == "gazetteer"
    assert loc.lat == pytest.approx(32.79, abs=0.05) and loc.lon == pytest.approx(-96.80, abs=0.05)
    assert loc.timezone == "America/Chicago"


def test_city_and_state_resolve_offline(ctx):
    loc = geocoding.geocode("Denver, CO")
    assert loc.timezone == "America/Denver"
    assert loc.lat == pytest.approx(39.74, abs=0.2)
    street = geocoding.geocode("12 Main St, Seattle, WA")
    assert street.timezone == "America/Los_Angeles"


def test_unknown_address_is_a_field_error_not_zero_zero(ctx, app):
    app.config["GEOCODER_USER_AGENT"] = None
    with pytest.raises(ValidationFailed) as err:
        geocoding.geocode("somewhere nobody has heard of", field="address")
    assert "address" in err.value.fields


def test_empty_address_is_a_field_error(ctx):
    with pytest.raises(ValidationFailed) as err:
        geocoding.geocode("   ")
    assert "address" in err.value.fields


def test_cached_network_answer_is_used_before_the_network(ctx, app):
    db.session.add(GeocodeCache(query="the old mill, smalltown", lat=35.1, lon=-90.2,
                                timezone="America/Chicago", label="The Old Mill",
                                source="nominatim"))
    db.session.commit()
    app.config["GEOCODER_USER_AGENT"] = None
    loc = geocoding.geocode("The Old Mill,  Smalltown")
    assert (loc.lat, loc.lon, loc.source) == (35.1, -90.2, "cache")


class FakeNominatim(ThreadingHTTPServer):
    """A local server speaking Nominatim's /search JSON, so geopy runs for real."""

    def __init__(self):
        self.queries: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                q = parse_qs(urlparse(self.path).query)
                outer.queries.append(q.get("q", [""])[0])
                body = json.dumps([{"lat": "35.5", "lon": "-97.5", "display_name":
                                    "Farm road 9, Somewhere, OK", "place_id": 1}]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_nominatim_falls_back_after_the_gazetteer_and_is_cached(ctx, app):
    server = FakeNominatim()
    app.config.update(GEOCODER_USER_AGENT="marketplace-test", GEOCODER_SCHEME="http",
                      GEOCODER_DOMAIN=f"127.0.0.1:{server.server_address[1]}",
                      GEOCODER_MIN_DELAY=0)
    try:
        assert geocoding.geocode("Dallas, TX").source == "gazetteer"
        assert server.queries == []
        loc = geocoding.geocode("Farm road 9, somewhere")
        assert loc.source == "nominatim" and (loc.lat, loc.lon) == (35.5, -97.5)
        assert loc.timezone == "America/Chicago"
        assert server.queries == ["Farm road 9, somewhere"]
        db.session.commit()
        assert geocoding.geocode("farm road 9,  somewhere").source == "cache"
        assert len(server.queries) == 1
    finally:
        app.config.update(GEOCODER_USER_AGENT=None, GEOCODER_DOMAIN=None)
        server.shutdown()


class DictCache:
    """Any object with get/put serves as the cache."""

    def __init__(self):
        self.rows: dict[str, geocoding.Location] = {}

    def get(self, key):
        return self.rows.get(key)

    def put(self, key, result):
        self.rows[key] = result


def test_the_cache_is_whatever_the_app_gives_geocoding(ctx, app):
    original = app.extensions["geocode_cache"]
    cache = DictCache()
    cache.put("the old mill, smalltown",
              geocoding.Location(35.1, -90.2, "America/Chicago", "The Old Mill", "cache"))
    geocoding.use_cache(app, cache)
    try:
        app.config["GEOCODER_USER_AGENT"] = None
        assert geocoding.geocode("The Old Mill, Smalltown").lat == 35.1
    finally:
        geocoding.use_cache(app, original)


def test_integrations_import_no_stage():
    import ast
    import pathlib
    stages = {"accounts", "verify", "find", "engage", "manage", "pay", "rate", "notifications"}
    folder = pathlib.Path(geocoding.__file__).parent
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                top = (node.module or "").split(".")[0]
                assert top not in stages, f"{path.name} imports the {top} stage"


# --- ZIP codes the gazetteer knows without coordinates --------------------------

def _dc_distance_km(lat, lon):
    from marketplace.find.geo import haversine_km
    return haversine_km(38.8951, -77.0364, lat, lon)


def test_a_zip_without_coordinates_falls_back_to_its_city_never_zero(ctx):
    """56908 ("Parcel Return Service, DC") has no coordinates in the gazetteer: it
    takes the centroid of its city's other ZIP codes, in Washington."""
    assert [r for r in __import__("zipcodes").matching("56908") if float(r["lat"]) == 0]
    loc = geocoding.geocode("1 Main St, Washington, DC 56908")
    assert (loc.lat, loc.lon) != (0, 0)
    assert _dc_distance_km(loc.lat, loc.lon) < 20
    assert loc.timezone == "America/New_York"


def test_a_zip_without_coordinates_or_a_city_of_its_own_uses_the_address_city(ctx):
    """88888 (North Pole, DC) has neither coordinates nor a city with any: the
    address's own "City, ST" is the next source."""
    assert geocoding.lookup_postal_code("88888") is None
    loc = geocoding.geocode("1 Main St, Washington, DC 88888")
    assert _dc_distance_km(loc.lat, loc.lon) < 20


def test_a_military_zip_is_a_field_error_not_zero_zero(ctx, app):
    app.config["GEOCODER_USER_AGENT"] = None
    assert geocoding.lookup_postal_code("09001") is None
    with pytest.raises(ValidationFailed) as err:
        geocoding.geocode("PSC 1234, APO, AE 09001")
    assert "could not find that address" in err.value.fields["address"]


def test_no_gazetteer_zip_resolves_to_zero_zero():
    import zipcodes
    blank = [r["zip_code"] for r in zipcodes.list_all()
             if float(r["lat"]) == 0 and float(r["long"]) == 0]
    assert len(blank) > 800
    for code in blank:
        place = geocoding.lookup_postal_code(code)
        assert place is None or (abs(place.lat) > 1 and abs(place.lon) > 1), code


def test_a_city_centre_is_taken_on_the_globe_and_only_when_sensible():
    """Military "cities" ("Dpo, AP": ZIP codes from Korea to the Aleutians) have no
    place; a centre is taken on the globe, so points on both sides of the
    antimeridian do not average to Greenwich; ZIP codes spread wider than
    MAX_CITY_SPREAD_KM have no centre."""
    assert geocoding.lookup_city_state("Dpo", "AP") is None
    across = geocoding._centre([(51.80, 179.95, {}), (51.80, -179.85, {})])
    assert across[0] == pytest.approx(51.80, abs=0.01)
    assert abs(across[1]) == pytest.approx(179.95, abs=0.01)
    assert geocoding._centre([(51.88, -176.66, {}), (51.57, 178.88, {})]) is None
    adak = geocoding.lookup_city_state("Adak", "AK")
    assert adak.lon == pytest.approx(-177.09, abs=0.05) and adak.timezone == "America/Adak"


def test_the_assignment_api_never_stores_zero_zero(client, ctx, app):
    from datetime import datetime, timezone

    from marketplace.accounts import tokens
    from marketplace.accounts.models import Role
    from marketplace.core import clock
    from tests import factories

    app.config["GEOCODER_USER_AGENT"] = None
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc), freeze=True)
    owner = factories.firm_user(Role.OWNER)
    raw = tokens.issue_api_token(owner, "t")[1]
    db.session.commit()
    h = {"Authorization": f"Bearer {raw}"}
    body = {"title": "Kiosk", "start_date": "2030-06-03", "start_time": "09:00",
            "end_time": "10:00", "rate": "90"}
    r = client.post("/api/v1/assignments", headers=h,
                    json={**body, "address": "1 Main St, Washington, DC 56908"})
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert _dc_distance_km(got["lat"], got["lon"]) < 20
    r = client.post("/api/v1/assignments", headers=h,
                    json={**body, "address": "PSC 1234, APO, AE 09001"})
    assert r.status_code == 422
    assert "could not find that address" in r.get_json()["error"]["fields"]["address"]


def _profile_form(postal_code):
    return {"headline": "Tech", "bio": "", "postal_code": postal_code,
            "travel_radius_km": "50", "hourly_rate": "60", "mon": "y"}


def test_a_technician_moving_to_a_zip_without_coordinates_is_placed_at_its_city(
        client, auth, ctx):
    from marketplace.accounts.models import User
    from tests import factories

    tech = factories.technician()
    auth.login(tech.email)
    r = client.post("/profile", data=_profile_form("56908"))
    assert r.status_code == 302
    db.session.expire_all()
    profile = db.session.get(User, tech.id).technician
    assert profile.postal_code == "56908" and profile.state == "DC"
    assert _dc_distance_km(profile.lat, profile.lon) < 20
    assert profile.timezone == "America/New_York"


def test_a_technician_moving_to_a_zip_nobody_can_place_gets_a_field_error(client, auth, ctx):
    from marketplace.accounts.models import User
    from tests import factories

    tech = factories.technician()
    auth.login(tech.email)
    r = client.post("/profile", data=_profile_form("09001"))
    assert r.status_code == 200
    assert "could not find" in r.get_data(True)
    db.session.expire_all()
    profile = db.session.get(User, tech.id).technician
    assert profile.postal_code == "75201" and profile.lat == pytest.approx(32.79, abs=0.01)
