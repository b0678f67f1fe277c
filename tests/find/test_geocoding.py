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
