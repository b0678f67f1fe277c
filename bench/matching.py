"""Matching benchmark: the real matching function on SQLite and PostgreSQL.

    python bench/matching.py            # 100k and 1M technicians
    python bench/matching.py --quick    # 100k only (under two minutes)

Technicians over the continental US (75% around catalog.METROS, 25% uniform),
1-6 skills of the catalog by popularity, every one holding a background check
of which ~4% expired. 2,000 queries at population-weighted points (50 km,
k=50; 70% one required skill, 30% two or three; the requirement set asks for
the background check) go through marketplace.find.matching.search. Recall is
measured against a brute-force numpy scan applying the same rules; the floor
is an in-memory numpy search over the same data bucketed by H3 cell. Matching ranks
with the terms later stages register (rate's reliability); the same queries are timed
again with none, for what ranking costs.
The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from marketplace.demo.catalog import METROS, SKILLS
from h3.api import basic_int as h3i  # noqa: E402
from marketplace.find.geo import (REACH, _STEP, cell_of, cover, distance_km_array,  # noqa: E402
                                  sphere_km)
from marketplace.find.match_index import index_rows as index_rows_of  # noqa: E402
from marketplace.find.matching import MatchQuery, search  # noqa: E402

QUERIES = 2000
BUCKET_RES = 6
RADIUS_KM = 50
K = 50
ON = date(2030, 6, 3)
STARTS = datetime(2030, 6, 3, 15, tzinfo=timezone.utc)


def generate(n: int, rng: np.random.Generator) -> dict:
    weights = np.array([m[6] for m in METROS], float)
    weights /= weights.sum()
    clustered = int(n * 0.75)
    metro = rng.choice(len(METROS), clustered, p=weights)
    mlat = np.array([m[3] for m in METROS])[metro]
    mlon = np.array([m[4] for m in METROS])[metro]
    spread_km = rng.exponential(18.0, clustered)
    angle = rng.uniform(0, 2 * math.pi, clustered)
    lat_c = mlat + spread_km * np.cos(angle) / 111.2
    lon_c = mlon + spread_km * np.sin(angle) / (111.2 * np.cos(np.radians(mlat)))
    lat_u = rng.uniform(25.5, 48.5, n - clustered)
    lon_u = rng.uniform(-123.5, -68.0, n - clustered)
    lat = np.concatenate([lat_c, lat_u])
    lon = np.concatenate([lon_c, lon_u])
    travel = rng.choice([25, 40, 50, 60, 80, 120], n, p=[.15, .25, .25, .15, .12, .08])
    pop = np.array([s[3] for s in SKILLS], float)
    pop /= pop.sum()
    n_skills = rng.integers(1, 7, n)
    skills = [rng.choice(len(SKILLS), k, replace=False, p=pop) for k in n_skills]
    levels = [rng.integers(1, 5, len(s)) for s in skills]
    expired = rng.random(n) < 0.04
    return {"lat": lat, "lon": lon, "travel": travel, "skills": skills, "levels": levels,
            "expired": expired, "pop": pop}


def queries(rng: np.random.Generator, pop: np.ndarray) -> list[tuple[float, float, dict]]:
    weights = np.array([m[6] for m in METROS], float)
    weights /= weights.sum()
    out = []
    for _ in range(QUERIES):
        m = METROS[rng.choice(len(METROS), p=weights)]
        d, a = rng.exponential(15.0), rng.uniform(0, 2 * math.pi)
        lat = m[3] + d * math.cos(a) / 111.2
        lon = m[4] + d * math.sin(a) / (111.2 * math.cos(math.radians(m[3])))
        count = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
        chosen = rng.choice(len(SKILLS), count, replace=False, p=pop)
        out.append((lat, lon, {int(s) + 1: int(rng.integers(1, 3)) for s in chosen}))
    return out


def load(app, data: dict) -> int:
    """Bulk-load the population; returns the requirement set id."""
    from marketplace.extensions import db
    from marketplace.find.models import MatchIndexRow
    from marketplace.verify.models import (Credential, CredentialType, RequirementItem,
                                           RequirementSet)
    from marketplace.accounts.models import Skill, TechnicianProfile, TechnicianSkill, User

    n = len(data["lat"])
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with app.app_context():
        conn = db.session.connection()
        conn.execute(insert(Skill), [{"id": i + 1, "slug": s[0], "name": s[1], "category": s[2]}
                                     for i, s in enumerate(SKILLS)])
        conn.execute(insert(CredentialType), [{"id": 1, "name": "Background check",
                                               "kind": "background_check", "description": "",
                                               "requires_document": False, "expires": True,
                                               "is_active": True, "created_at": now}])
        conn.execute(insert(RequirementSet), [{"id": 1, "name": "Checked", "description": "",
                                               "created_at": now}])
        conn.execute(insert(RequirementItem), [{"id": 1, "requirement_set_id": 1,
                                                "credential_type_id": 1}])
        step = 20000
        ts_id = 0
        for lo in range(0, n, step):
            ids = range(lo + 1, min(n, lo + step) + 1)
            conn.execute(insert(User), [{"id": i, "email": f"t{i}@bench", "name": f"T{i}",
                                         "password_hash": "x", "kind": "technician",
                                         "is_enabled": True, "session_version": 1,
                                         "created_at": now} for i in ids])
            conn.execute(insert(TechnicianProfile), [{
                "id": i, "user_id": i, "headline": "", "bio": "", "timezone": "UTC",
                "lat": float(data["lat"][i - 1]), "lon": float(data["lon"][i - 1]),
                "travel_radius_km": int(data["travel"][i - 1]), "hourly_rate_cents": 5000,
                "currency": "USD", "availability": {}, "status": "active",
                "created_at": now, "updated_at": now} for i in ids])
            skill_rows, index_rows, cred_rows = [], [], []
            for i in ids:
                t = i - 1
                skills = [(int(s) + 1, int(lvl))
                          for s, lvl in zip(data["skills"][t], data["levels"][t])]
                for sid, lvl in skills:
                    ts_id += 1
                    skill_rows.append({"id": ts_id, "technician_id": i, "skill_id": sid,
                                       "level": lvl})
                # The rows the application writes (match_index.index_rows).
                index_rows += index_rows_of(i, float(data["lat"][t]), float(data["lon"][t]),
                                            int(data["travel"][t]), skills)
                cred_rows.append({"id": i, "technician_id": i, "credential_type_id": 1,
                                  "status": "approved", "submitted_at": now, "updated_at": now,
                                  "expires_on": date(2025, 1, 1) if data["expired"][t]
                                  else date(2031, 1, 1)})
            conn.execute(insert(TechnicianSkill), skill_rows)
            conn.execute(insert(MatchIndexRow), index_rows)
            conn.execute(insert(Credential), cred_rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does in a running system: statistics, and the visibility
            # map that lets the match index be read by index-only scans.
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("match_index", "credentials", "technician_skills", "technicians"):
                    conn.execute(db.text(f"VACUUM ANALYZE {table}"))
        else:
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
    return 1


class Reference:
    """Brute force (a full numpy scan) and two in-memory floors over the same data:

    - `floor`: the reference the issue names, numpy over technicians bucketed by
      H3 cell (resolution 6), reading every bucket of the radius's disk;
    - `floor_by_skill`: a stronger one, held per skill sorted by stored cell and
      read with the engine's own cover (geo.cover), driven by the rarest skill.
    """

    def __init__(self, data: dict):
        self.lat, self.lon = np.asarray(data["lat"]), np.asarray(data["lon"])
        self.travel = data["travel"].astype(float)
        self.ok = ~data["expired"]
        n = len(self.lat)
        self.level = np.zeros((len(SKILLS) + 1, n), dtype=np.int8)
        for t, (ss, ls) in enumerate(zip(data["skills"], data["levels"])):
            self.level[ss + 1, t] = ls
        cells = data["cells"]
        self.by_skill = {}
        for s in range(1, len(SKILLS) + 1):
            idx = np.nonzero(self.level[s])[0]
            order = np.argsort(cells[idx], kind="stable")
            self.by_skill[s] = (cells[idx][order], idx[order])
        parents = np.array([h3i.cell_to_parent(int(c), BUCKET_RES) for c in cells])
        order = np.argsort(parents, kind="stable")
        uniq, starts = np.unique(parents[order], return_index=True)
        ends = np.append(starts[1:], len(order))
        self.buckets = {int(c): order[a:b] for c, a, b in zip(uniq, starts, ends)}
        self.rings = math.ceil((sphere_km(RADIUS_KM) + 2 * REACH[BUCKET_RES])
                               / _STEP[BUCKET_RES])

    def _dist(self, lat, lon, idx):
        """The engine's distance (geo.distance_km), over arrays."""
        return distance_km_array(lat, lon, self.lat[idx], self.lon[idx])

    def _top(self, lat, lon, skills, idx):
        mask = self.ok[idx]
        for s, lvl in skills.items():
            mask &= self.level[s, idx] >= lvl
        idx = idx[mask]
        d = self._dist(lat, lon, idx)
        keep = (d <= RADIUS_KM) & (d <= self.travel[idx])
        idx, d = idx[keep], d[keep]
        if len(idx) > K:
            part = np.argpartition(d, K - 1)[:K]
            idx, d = idx[part], d[part]
        order = np.lexsort((idx, d))
        return [int(i) + 1 for i in idx[order]]

    def brute(self, lat, lon, skills):
        return self._top(lat, lon, skills, np.arange(len(self.lat)))

    def floor(self, lat, lon, skills):
        centre = h3i.latlng_to_cell(lat, lon, BUCKET_RES)
        parts = [self.buckets.get(c) for c in h3i.grid_disk(centre, self.rings)]
        parts = [p for p in parts if p is not None]
        found = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return self._top(lat, lon, skills, found)

    def floor_by_skill(self, lat, lon, skills):
        rarest = min(skills, key=lambda s: len(self.by_skill[s][1]))
        cells, idx = self.by_skill[rarest]
        ranges = np.array(cover(lat, lon, sphere_km(RADIUS_KM)), dtype=np.int64)
        starts = np.searchsorted(cells, ranges[:, 0])
        ends = np.searchsorted(cells, ranges[:, 1], side="right")
        parts = [idx[a:b] for a, b in zip(starts, ends) if b > a]
        found = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return self._top(lat, lon, skills, found)


def pct(values, p):
    return float(np.percentile(np.array(values), p))


def run_backend(name: str, url: str, data: dict, qs: list, ref: Reference) -> dict:
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.find.matching import reindex_technician
    from flask_migrate import upgrade

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
    t0 = time.perf_counter()
    load(app, data)
    load_s = time.perf_counter() - t0
    times, hits, total = [], 0, 0
    with app.app_context():
        for lat, lon, skills in qs[:50]:   # warm-up
            search(MatchQuery(lat=lat, lon=lon, radius_km=RADIUS_KM, skills=skills,
                              requirement_set_id=1, on=ON, starts_at=STARTS,
                              ends_at=STARTS + timedelta(hours=2)), K)
        for lat, lon, skills in qs:
            q = MatchQuery(lat=lat, lon=lon, radius_km=RADIUS_KM, skills=skills,
                           requirement_set_id=1, on=ON, starts_at=STARTS,
                           ends_at=STARTS + timedelta(hours=2))
            t = time.perf_counter()
            got = [m.technician_id for m in search(q, K)]
            times.append((time.perf_counter() - t) * 1000)
            want = ref.brute(lat, lon, skills)
            # Recall: the share of the true top-k the engine returned (extra or
            # wrong answers also count against it, since the list is capped at k).
            hits += len(set(got) & set(want)) - max(0, len(got) - len(want))
            total += len(want)
        # The same queries with no ranking term (distance alone), for what ranking costs.
        from marketplace.core.hooks import hooks
        from marketplace.find.matching import RANKING_HOOK
        registry = hooks(app)
        terms = registry.get(RANKING_HOOK)
        registry._lists[RANKING_HOOK] = []
        unranked = []
        for lat, lon, skills in qs:
            q = MatchQuery(lat=lat, lon=lon, radius_km=RADIUS_KM, skills=skills,
                           requirement_set_id=1, on=ON, starts_at=STARTS,
                           ends_at=STARTS + timedelta(hours=2))
            t = time.perf_counter()
            search(q, K)
            unranked.append((time.perf_counter() - t) * 1000)
        registry._lists[RANKING_HOOK] = terms
        updates = []
        rng = np.random.default_rng(7)
        from marketplace.accounts.models import TechnicianProfile
        for tid in rng.integers(1, len(data["lat"]) + 1, 50):
            p = db.session.get(TechnicianProfile, int(tid))
            t = time.perf_counter()
            p.lat += 0.01
            reindex_technician(p.id)
            db.session.commit()
            updates.append((time.perf_counter() - t) * 1000)
        db.session.remove()
        db.engine.dispose()
    return {"p50": pct(times, 50), "p95": pct(times, 95), "p99": pct(times, 99),
            "recall": hits / total if total else 1.0, "update_ms": pct(updates, 50),
            "load_s": load_s, "ranking_terms": len(terms), "unranked_p50": pct(unranked, 50),
            "unranked_p95": pct(unranked, 95)}


def run(n: int, seed: int = 1) -> dict:
    from tests.services import create_postgres_database, drop_postgres_database, \
        postgres_available
    rng = np.random.default_rng(seed)
    data = generate(n, rng)
    qs = queries(np.random.default_rng(seed + 1), data["pop"])
    data["cells"] = np.array([cell_of(a, b) for a, b in zip(data["lat"], data["lon"])],
                             dtype=np.int64)
    ref = Reference(data)
    floor, by_skill, misses = [], [], 0
    for lat, lon, skills in qs:
        want = ref.brute(lat, lon, skills)
        for fn, times in ((ref.floor, floor), (ref.floor_by_skill, by_skill)):
            t = time.perf_counter()
            got = fn(lat, lon, skills)
            times.append((time.perf_counter() - t) * 1000)
            misses += got != want
    assert misses == 0, f"a floor disagrees with brute force on {misses} queries"
    result = {"n": n, "floor_p95_ms": pct(floor, 95), "floor_by_skill_p95_ms": pct(by_skill, 95)}
    with tempfile.TemporaryDirectory() as tmp:
        r = run_backend("sqlite", f"sqlite:///{tmp}/bench.sqlite3", data, qs, ref)
    print(f"n={n:>8} sqlite     p50 {r['p50']:.2f} ms  p95 {r['p95']:.2f} ms  "
          f"p99 {r['p99']:.2f} ms  recall {r['recall']:.4f}  update {r['update_ms']:.2f} ms  "
          f"(load {r['load_s']:.0f} s)", flush=True)
    print(f"n={n:>8} sqlite     ranking terms {r['ranking_terms']}; without them p50 "
          f"{r['unranked_p50']:.2f} ms  p95 {r['unranked_p95']:.2f} ms", flush=True)
    result.update(sqlite=r)
    if postgres_available():
        url = create_postgres_database("mp_bench")
        try:
            r = run_backend("postgresql", url, data, qs, ref)
        finally:
            drop_postgres_database(url)
        print(f"n={n:>8} postgresql p50 {r['p50']:.2f} ms  p95 {r['p95']:.2f} ms  "
              f"p99 {r['p99']:.2f} ms  recall {r['recall']:.4f}  update {r['update_ms']:.2f} ms "
              f" (load {r['load_s']:.0f} s)", flush=True)
        print(f"n={n:>8} postgresql ranking terms {r['ranking_terms']}; without them p50 "
              f"{r['unranked_p50']:.2f} ms  p95 {r['unranked_p95']:.2f} ms", flush=True)
        result.update(postgresql=r)
    print(f"n={n:>8} numpy floor (by cell) p50 {pct(floor, 50):.2f} ms  "
          f"p95 {pct(floor, 95):.2f} ms", flush=True)
    print(f"n={n:>8} numpy floor (by skill, same cover) p50 {pct(by_skill, 50):.2f} ms  "
          f"p95 {pct(by_skill, 95):.2f} ms", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k technicians only")
    args = parser.parse_args()
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    results = [run(n) for n in sizes]
    last = results[-1]
    recall = min(min(r["sqlite"]["recall"], r.get("postgresql", {}).get("recall", 1.0))
                 for r in results)
    growth = (results[-1]["sqlite"]["p95"] / results[0]["sqlite"]["p95"]) \
        if len(results) > 1 else None
    print(json.dumps({
        "bench": "matching", "n": last["n"],
        "sqlite_p95_ms": round(last["sqlite"]["p95"], 2),
        "postgres_p95_ms": round(last["postgresql"]["p95"], 2) if "postgresql" in last
        else None,
        "floor_p95_ms": round(last["floor_p95_ms"], 2),
        "floor_by_skill_p95_ms": round(last["floor_by_skill_p95_ms"], 2),
        "sqlite_vs_floor": round(last["sqlite"]["p95"] / last["floor_p95_ms"], 2),
        "recall": round(recall, 4),
        "growth_p95_100k_to_1m": round(growth, 2) if growth else None,
        "update_ms": round(max(last["sqlite"]["update_ms"],
                               last.get("postgresql", {}).get("update_ms", 0.0)), 2),
    }))


if __name__ == "__main__":
    main()
