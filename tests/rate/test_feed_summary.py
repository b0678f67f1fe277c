"""A firm's one-line scorecard on a technician's feed card reads as a sentence."""
from __future__ import annotations

from types import SimpleNamespace

from marketplace.rate import firm_scores, sections


def _card(completed: int, rating=None, rated=0) -> firm_scores.FirmCard:
    return firm_scores.FirmCard(firm=SimpleNamespace(name="Northstar"), rating=rating,
                                rated=rated, paid=0, avg_days_to_pay=None,
                                paid_within_week=None, cancel_rate=0.11,
                                late_cancel_rate=0.0, completed=completed, verified=True)


def test_the_feed_line_counts_jobs_in_words_that_agree():
    assert sections.summary(_card(1)) == "Northstar: not rated yet · cancels 11% · 1 job done here"
    assert sections.summary(_card(0)).endswith("· 0 jobs done here")
    assert sections.summary(_card(12, 4.75, 3)) == \
        "Northstar: 4.8★ (3) · cancels 11% · 12 jobs done here"
