"""What rate costs the paths it rides on: the statements it adds to a check-in's commit,
and one scorecard update (one statement, the platform means read inside it)."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, select, update

from marketplace.core import audit, clock
from marketplace.extensions import db
from marketplace.manage import visits
from marketplace.find.models import PoolMember, PoolMemberStatus, TalentPool
from marketplace.rate import events, gates, means, reliability
from marketplace.rate.models import PlatformMean, ScoreMinimum, TechnicianScore
from marketplace.verify.models import RequirementSet
from marketplace.rate.reliability import growth_at
from tests.manage.helpers import taken_work
from tests.rate.helpers import fix


@contextmanager
def counted():
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split())[:80])
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_rate_adds_one_read_and_its_writes_to_a_checkin(app):
    with app.app_context():
        owner, tech, job = taken_work(checklist=[])
        clock.travel_to(job.starts_at, freeze=True)
        visits.check_in(tech.user, job, at=clock.now(), fix=fix(job))
        db.session.flush()
        audit.write_pending()             # the check-in's own audit rows
        means.cached()                    # this process has read the means before
        with counted() as sync:
            events.flush_marked()
        db.session.commit()
        # the assignment's facts (and its technicians' gated pools: none), the new events,
        # the scorecard upsert
        assert len(sync) == 3, sync
        kinds = {e.kind for e in db.session.scalars(select(events.RateEvent))}
        assert kinds == {"on_time", "kept"}
        job_id = job.id
        with counted() as again:          # nothing changed: one read, no writes
            assert events.sync_assignment(job_id) == set()
        assert len(again) == 1, again


def test_a_technician_in_a_pool_with_minimum_scores_has_it_checked_after_the_sync(app):
    with app.app_context():
        owner, tech, job = taken_work(checklist=[])
        rset = RequirementSet(name="Proven", firm_id=owner.firm.id)
        db.session.add(rset)
        db.session.flush()
        db.session.add(ScoreMinimum(requirement_set_id=rset.id, min_completed_jobs=3))
        pool = TalentPool(firm_id=owner.firm.id, name="Core crew", requirement_set_id=rset.id)
        db.session.add(pool)
        db.session.flush()
        member = PoolMember(pool_id=pool.id, technician_id=tech.id,
                            status=PoolMemberStatus.ACTIVE)
        db.session.add(member)
        db.session.commit()
        clock.travel_to(job.starts_at, freeze=True)
        visits.check_in(tech.user, job, at=clock.now(), fix=fix(job))
        db.session.flush()
        audit.write_pending()             # the check-in's own audit rows
        means.cached()
        with counted() as sync:
            events.flush_marked()
        db.session.commit()
        # the facts, the events, the upsert, then the gated memberships read and updated
        assert sync[3].startswith("SELECT pool_members."), sync
        db.session.refresh(member)
        assert (member.status, member.removed_reason) == (PoolMemberStatus.REMOVED,
                                                          gates.BELOW_MINIMUM)
        assert [e.action for e in audit.list_for_subject("pool_members", member.id)] == [
            "pool.member_removed"]      # recorded by the sync before commit, written too


def test_a_scorecard_update_is_one_statement_and_notices_refreshed_means(app):
    with app.app_context():
        owner, tech, job = taken_work(checklist=[])
        db.session.add(PlatformMean(component="arrival", mean=0.5, weight=100.0))
        db.session.commit()
        tech_id, g = tech.id, growth_at(clock.now())
        events.apply(tech_id, {"n_completed": 5, "n_on_time": 5, "arrival_w": 5 * g,
                               "arrival_v": 5 * g}, g)
        db.session.commit()
        with counted() as warm:
            events.apply(tech_id, {"n_late": 1, "arrival_w": g}, g)
        assert len(warm) == 1, warm
        db.session.commit()
        # another process refreshes the means: the next update sees it and scores with them
        db.session.execute(update(PlatformMean).where(PlatformMean.component == "arrival")
                           .values(mean=0.25))
        db.session.commit()
        with counted() as stale:
            events.apply(tech_id, {"n_on_time": 1, "arrival_w": g, "arrival_v": g}, g)
        assert len(stale) == 3, stale            # refused, the means read, done again
        db.session.commit()
        card = db.session.get(TechnicianScore, tech_id)
        assert means.current()["arrival"] == 0.25
        assert card.n_on_time == 6 and card.n_late == 1
        assert abs(card.reliability - reliability.score(card, means.current())) < 1e-9
