"""Scorecards from observed events: the arithmetic against hand-computed figures, the
shrinkage ordering, exclusions, disputes, and incremental = recomputed."""
from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.extensions import db
from marketplace.rate import moderation, scorecards
from marketplace.rate.models import TechnicianScore
from marketplace.rate.recompute import recompute
from marketplace.rate.reliability import DEFAULT_MEANS, raw_score
from tests import factories
from tests.find.helpers import tech_at
from tests.rate.history import T0, outcome, random_history


def test_scorecard_arithmetic_matches_the_hand_computed_figures(app, ctx):
    owner = factories.firm_user()
    tech = tech_at(32.77, -96.79)
    outcome(owner, tech, T0, "on_time", stars=5)
    outcome(owner, tech, T0, "late", revisits=1)
    outcome(owner, tech, T0, "no_show")
    outcome(owner, tech, T0, "backout")
    outcome(owner, tech, T0, "late_backout")
    db.session.commit()
    clock.travel_to(T0 + timedelta(days=10))
    sc = scorecards.scorecard(tech, with_events=True)
    # arrival: on time (1, w1), late (0, w1), no-show (0, w2): (1 + 5·0.9) / (4 + 5)
    # commitment: kept ×2, backout (w1), late backout (w2): (2 + 5·0.95) / (5 + 5)
    # completion: first time, revisited: (1 + 5·0.9) / (2 + 5); sla: none: 0.9
    # rating: one 5★ = 1.0: (1 + 5·0.9) / (1 + 5)
    parts = {c.key: c.rate for c in sc.parts}
    assert parts["arrival"] == pytest.approx(5.5 / 9)
    assert parts["commitment"] == pytest.approx(6.75 / 10)
    assert parts["completion"] == pytest.approx(5.5 / 7)
    assert parts["sla"] == pytest.approx(0.9)
    assert parts["rating"] == pytest.approx(5.5 / 6)
    expected = 30 * 5.5 / 9 + 30 * 0.675 + 15 * 5.5 / 7 + 10 * 0.9 + 15 * 5.5 / 6
    assert sc.provisional == pytest.approx(expected)
    assert sc.reliability is None and sc.is_new and sc.jobs_to_score == 3  # 2 completed
    assert sc.all_time.on_time_rate == pytest.approx(1 / 3)
    assert sc.all_time.first_time_rate == pytest.approx(0.5)
    assert sc.all_time.n("late_backout") == 1 and sc.all_time.rating == 5
    # every event is listed with the points it moved; the no-show cost the most
    effects = {line.event.kind: line.effect for line in sc.lines}
    assert effects["no_show"] < effects["late"] < 0 < effects["on_time"]
    assert effects["completed"] is None
    assert (sc.worst_loss.key, sc.worst_loss.worst) == ("commitment", "late_backout")


def test_recent_work_weighs_more_half_life_180_days(app, ctx):
    owner = factories.firm_user()
    tech = tech_at(32.77, -96.79)
    outcome(owner, tech, T0, "late")
    outcome(owner, tech, T0 + timedelta(days=180), "on_time")
    db.session.commit()
    arrival = {c.key: c for c in scorecards.scorecard(tech).parts}["arrival"]
    # the late arrival 180 days before the latest event weighs 1/2: observed 1 / 1.5
    assert arrival.observed == pytest.approx(1 / 1.5)
    assert arrival.rate == pytest.approx((1 + 4.5) / (1.5 + 5))


def _card(jobs: int, stars: list[int]):
    """A scorecard of `jobs` perfect jobs at one instant, rated `stars`."""
    from types import SimpleNamespace
    card = SimpleNamespace(growth=1.0, n_completed=jobs)
    for component in ("arrival", "commitment", "completion", "sla"):
        setattr(card, f"{component}_w", float(jobs))
        setattr(card, f"{component}_v", float(jobs))
    card.rating_w = float(len(stars))
    card.rating_v = sum((s - 1) / 4 for s in stars)
    return card


def test_one_five_star_job_ranks_below_two_hundred_at_four_point_nine(app, ctx):
    from marketplace.rate.reliability import component_rate, score
    veteran = _card(200, [5] * 180 + [4] * 20)          # 4.9★ on average
    for newcomer in (_card(1, [5]), _card(5, [5] * 5)):
        assert component_rate(newcomer, "rating", DEFAULT_MEANS) < \
            component_rate(veteran, "rating", DEFAULT_MEANS)
        assert raw_score(newcomer, DEFAULT_MEANS) < raw_score(veteran, DEFAULT_MEANS)
    assert score(_card(1, [5]), DEFAULT_MEANS) is None          # "new" below 5 jobs
    assert score(_card(5, [5] * 5), DEFAULT_MEANS) < score(veteran, DEFAULT_MEANS)


def test_a_site_not_ready_excuses_the_job_and_an_upheld_dispute_strikes_an_event(app, ctx):
    owner = factories.firm_user()
    tech = tech_at(32.77, -96.79)
    outcome(owner, tech, T0, "late", site_not_ready=True, sla_breach=True)
    outcome(owner, tech, T0 + timedelta(days=1), "no_show")
    db.session.commit()
    card = db.session.get(TechnicianScore, tech.id)
    assert (card.n_late, card.n_sla_missed, card.n_no_show, card.n_completed) == (0, 0, 1, 1)
    clock.travel_to(T0 + timedelta(days=3))
    sc = scorecards.scorecard(tech, with_events=True)
    no_show = next(line for line in sc.lines if line.event.kind == "no_show")
    assert no_show.can_dispute
    dispute = moderation.dispute(tech.user, no_show.event, "I was in hospital; the firm knew")
    with pytest.raises(Exception):
        moderation.dispute(tech.user, no_show.event, "again")
    db.session.rollback()
    dispute = db.session.merge(dispute)
    admin = factories.admin()
    moderation.decide(admin, dispute, True, "Documented")
    db.session.commit()
    assert db.session.get(TechnicianScore, tech.id).n_no_show == 0
    clock.travel_to(T0 + timedelta(days=30))
    late_one = next(line for line in scorecards.scorecard(tech, with_events=True).lines
                    if line.event.kind == "no_show")
    assert late_one.dispute.status == "upheld" and late_one.effect is None


COLUMNS = [c.name for c in TechnicianScore.__table__.c if c.name != "updated_at"]


def _cards() -> dict[int, dict]:
    db.session.expire_all()
    return {row.technician_id: {c: getattr(row, c) for c in COLUMNS}
            for row in db.session.scalars(select(TechnicianScore))}


def test_incremental_scorecards_equal_a_full_recompute(app, ctx):
    owner = factories.firm_user()
    techs = [tech_at(32.77, -96.79) for _ in range(4)]
    random_history(owner, techs, 60)
    db.session.commit()
    incremental = _cards()
    assert len(incremental) == 4 and any(c["reliability"] for c in incremental.values())
    result = recompute(refresh_means=False, chunk=2)
    db.session.commit()
    assert result.technicians == 4
    recomputed = _cards()
    for tech_id, values in incremental.items():
        for column, value in values.items():
            other = recomputed[tech_id][column]
            if isinstance(value, float):
                assert math.isclose(value, other, rel_tol=1e-9, abs_tol=1e-9), (tech_id, column)
            else:
                assert value == other, (tech_id, column)
    # and from the records themselves: deriving every event again changes nothing
    recompute(rederive=True, refresh_means=False)
    db.session.commit()
    again = _cards()
    assert {t: v["n_completed"] for t, v in again.items()} == \
        {t: v["n_completed"] for t, v in incremental.items()}
    # with the platform's own means, every score shrinks toward them
    means = recompute().means
    db.session.commit()
    assert means != DEFAULT_MEANS
    card = db.session.get(TechnicianScore, techs[0].id)
    if card.n_completed >= 5:
        assert card.reliability == pytest.approx(raw_score(card, means))


def test_the_no_show_sweep_and_a_backout_count_against_the_technician(app, ctx):
    from marketplace.engage.backfill import back_out
    from marketplace.manage import arrival
    from marketplace.rate import events
    from tests.manage.helpers import taken_work
    owner, tech, job = taken_work(checklist=[])
    clock.travel_to(job.ends_at + timedelta(minutes=1))
    arrival.sweep()
    db.session.commit()
    assert events.collect_no_shows(clock.now() - timedelta(days=8)) == 1
    assert events.collect_no_shows(clock.now() - timedelta(days=8)) == 0
    db.session.commit()
    assert db.session.get(TechnicianScore, tech.id).n_no_show == 1
    owner2, tech2, job2 = taken_work(checklist=[])
    clock.travel_to(job2.starts_at - timedelta(hours=3))
    back_out(tech2.user, job2, "Van broke down")
    db.session.commit()
    card = db.session.get(TechnicianScore, tech2.id)
    assert (card.n_late_backout, card.n_backout, card.commitment_w > 0) == (1, 0, True)


def test_flask_rate_recompute_rebuilds_with_a_summary(app, ctx):
    owner = factories.firm_user()
    tech = tech_at(32.77, -96.79)
    outcome(owner, tech, T0, "on_time")
    db.session.execute(TechnicianScore.__table__.delete())
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rate", "recompute", "--rederive"])
    assert result.exit_code == 0, result.output
    assert "scorecards: 1 technicians, 1 firms" in result.output
    db.session.expire_all()
    assert db.session.get(TechnicianScore, tech.id).n_on_time == 1


def test_the_admin_sees_drops_and_rating_rings(app, client, auth, ctx):
    from marketplace.rate.outliers import find_outliers
    owner = factories.firm_user()
    ringed, dropping = tech_at(32.77, -96.79), tech_at(32.77, -96.79)
    for day in range(5):
        outcome(owner, ringed, T0 + timedelta(days=day), "on_time", stars=5)
    for day in range(3):
        outcome(owner, dropping, T0 + timedelta(days=day), "no_show")
    db.session.commit()
    clock.travel_to(T0 + timedelta(days=5))
    found = {(o.kind, o.technician.id) for o in find_outliers()}
    assert ("ring", ringed.id) in found and ("drop", dropping.id) in found
    assert ("drop", ringed.id) not in found
    admin = factories.admin()
    auth.login(admin.email)
    page = client.get("/admin/ratings").get_data(as_text=True)
    assert "Possible rating ring" in page and "Sudden drop" in page and ringed.name in page
