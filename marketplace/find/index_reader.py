"""Reading the match index: one statement per search step, its text fixed per shape.

A step reads the rows of the driving skill (the rarest one required) in a list
of cell ranges (geo.cover) and keeps, in SQL, only rows that can qualify:

- level and the skill signature (`skills & mask = mask`), then each other
  required skill checked exactly by a primary-key probe;
- the ring of the step: `c_out <= dot < c_in`, where dot is the technician's
  unit vector times the site's, the cosine of the angle between them (rows with
  dot >= c_in were returned by an earlier step, exactly, since the same
  arithmetic on the same values gives the same result);
- their own travel radius t, widened as geo.py says (read to t * SPHERE_STRETCH
  on the sphere): cos_travel stores cos(t / R), and for k >= 1,
  cos(k x) >= 1 - k^2 (1 - cos x), so `dot >= 1 - k^2 (1 - cos_travel)` (with a
  hair of slack) drops nobody within t on the ellipsoid.

The exact distance test (geo.distance_km) and ranking happen in Python on what
comes back (one distance definition). Everything is a bind parameter, so the
text, and with it the prepared statement and its plan, is reused by every
search of the shape (how many other skills). Rows come back as plain tuples from the DB-API cursor.
"""
from __future__ import annotations

import json
from functools import lru_cache

from .geo import SPHERE_STRETCH
from .match_index import ANY_SKILL, skill_bits, skill_count

# Rows within this of their travel radius by the dot test come back for the exact test.
_SLACK = 1e-9
_WIDEN = SPHERE_STRETCH ** 2
_COLUMNS = "m.technician_id, m.lat, m.lon, m.travel_radius_km"


@lru_cache(maxsize=None)
def _statement(postgres: bool, others: int) -> str:
    p = (lambda name, cast: f"%({name})s::{cast}") if postgres else \
        (lambda name, cast: f":{name}")
    dot = f"(m.x * {p('sx', 'float8')} + m.y * {p('sy', 'float8')} + m.z * {p('sz', 'float8')})"
    where = (f"m.skill_id = {p('s', 'int')} AND m.level >= {p('lvl', 'int')} "
             f"AND (m.skills & {p('mask', 'bigint')}) = {p('mask', 'bigint')} "
             f"AND {dot} >= {p('c_out', 'float8')} AND {dot} < {p('c_in', 'float8')} "
             f"AND {dot} >= 1 - {_WIDEN!r} * (1 - m.cos_travel) - {_SLACK}")
    for i in range(others):
        where += (f" AND EXISTS (SELECT 1 FROM match_index o WHERE o.skill_id = "
                  f"{p(f'o{i}', 'int')} AND o.cell = m.cell AND o.technician_id = "
                  f"m.technician_id AND o.level >= {p(f'l{i}', 'int')})")
    if postgres:
        # One index range scan per range (OFFSET 0 keeps the planner from flattening
        # the lateral subquery into one scan of the whole skill).
        return ("SELECT t.* FROM unnest(%(lo)s::bigint[], %(hi)s::bigint[]) AS r(lo, hi) "
                f"CROSS JOIN LATERAL (SELECT {_COLUMNS} FROM match_index m WHERE "
                f"m.cell BETWEEN r.lo AND r.hi AND {where} OFFSET 0) t")
    return (f"SELECT {_COLUMNS} FROM json_each(:ranges) AS r CROSS JOIN match_index AS m "
            "WHERE m.cell BETWEEN json_extract(r.value, '$[0]') AND "
            f"json_extract(r.value, '$[1]') AND {where}")


class IndexReader:
    """Reads one skill requirement ({skill id: minimum level}) for one search."""

    def __init__(self, conn, skills: dict[int, int]):
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        order = sorted(skills, key=lambda sid: (skill_count(sid), sid))
        first, level = (order[0], skills[order[0]]) if order else (ANY_SKILL, 0)
        self.sql = _statement(self.postgres, len(order) - 1 if order else 0)
        self.params: dict = {"s": int(first), "lvl": int(level), "mask": skill_bits(order)}
        for i, sid in enumerate(order[1:]):
            self.params[f"o{i}"], self.params[f"l{i}"] = int(sid), int(skills[sid])

    def rows(self, ranges: list[tuple[int, int]], site: tuple[float, float, float],
             c_out: float, c_in: float) -> list[tuple[int, float, float, int]]:
        """(technician_id, lat, lon, travel_radius_km) of the rows in `ranges` whose
        dot product with `site` lies in [c_out, c_in)."""
        if not ranges:
            return []
        params = {**self.params, "sx": site[0], "sy": site[1], "sz": site[2],
                  "c_out": c_out, "c_in": c_in}
        if self.postgres:
            params["lo"] = [lo for lo, _ in ranges]
            params["hi"] = [hi for _, hi in ranges]
        else:
            params["ranges"] = json.dumps(ranges)
        cursor = self.conn.connection.cursor()
        try:
            cursor.execute(self.sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()
