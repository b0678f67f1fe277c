"""Long commands show progress: a bar on stderr when it is a terminal (a real pty here),
nothing but the summary line otherwise; `flask find import` creates work from a CSV file."""
from __future__ import annotations

import os
import pty
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from marketplace.core import clock, progress
from marketplace.extensions import db
from marketplace.find.models import Assignment
from marketplace.verify.models import Credential, CredentialStatus
from tests import factories
from tests.find.helpers import DALLAS, tech_at
from tests.verify.helpers import ctype

NOW = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)


@contextmanager
def terminal(monkeypatch):
    """Commands see a real terminal on stderr; `out.text` is what it showed."""
    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
    chunks: list[bytes] = []

    def drain():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:       # the other end closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    monkeypatch.setattr(progress, "_terminal", lambda: stream)
    out = SimpleNamespace(text="")
    try:
        yield out
    finally:
        stream.close()
        reader.join(5)
        os.close(master)
        out.text = b"".join(chunks).decode("utf-8", "replace")


def test_the_bar_draws_on_a_terminal_and_nothing_elsewhere(monkeypatch):
    with terminal(monkeypatch) as shown:
        with progress.ProgressBar("Counting") as bar:
            for i in range(1, 5):
                bar(i, 4, f"step {i}")
    assert "Counting" in shown.text and "4/4" in shown.text and "step 4" in shown.text
    assert "100%" in shown.text

    monkeypatch.setattr(progress, "_terminal", lambda: None)
    with progress.ProgressBar("Quiet") as bar:
        bar(1, 2)                       # no terminal: draws nothing, raises nothing
    assert bar.stream is None


def test_verify_sweep_shows_its_steps_then_a_summary(app, ctx, monkeypatch):
    clock.travel_to(NOW, freeze=True)
    tech = factories.technician()
    t = ctype()
    db.session.add(Credential(technician_id=tech.technician.id, credential_type_id=t.id,
                              status=CredentialStatus.APPROVED,
                              expires_on=NOW.date() - timedelta(days=1)))
    db.session.commit()
    with terminal(monkeypatch) as shown:
        result = app.test_cli_runner().invoke(args=["verify", "sweep"])
    assert result.exit_code == 0, result.output
    assert "Expiry sweep" in shown.text and "4/4" in shown.text
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith(f"sweep {NOW.date().isoformat()}: 0 reminders, 1 expired, "
                           "1 suspended"), line
    assert " in " in line and line.endswith(" s")
    assert "Expiry sweep" not in result.stdout     # the bar never reaches stdout


def test_find_reindex_shows_technicians_indexed(app, ctx, monkeypatch):
    skill = factories.SkillFactory()
    for i in range(3):
        tech_at(DALLAS[0] + 0.01 * i, DALLAS[1], skills={skill.id: 2})
    with terminal(monkeypatch) as shown:
        result = app.test_cli_runner().invoke(args=["find", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Rebuilding the match index" in shown.text and "3/3" in shown.text
    assert "match index rebuilt: 6 rows for 3 technicians in " in result.stdout


def test_find_import_creates_work_from_a_file_with_progress_and_reports_bad_rows(
        app, ctx, monkeypatch, tmp_path):
    clock.travel_to(NOW, freeze=True)
    owner = factories.firm_user(email="owner@example.com")
    db.session.commit()
    path = tmp_path / "sites.csv"
    rows = ["title,address,date,start,end,rate"]
    rows += [f"Kiosk {i},\"Austin, TX\",2030-06-{4 + i:02d},09:00,10:00,90" for i in range(5)]
    rows.append("Broken,,2030-06-20,09:00,10:00,90")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with terminal(monkeypatch) as shown:
        result = app.test_cli_runner().invoke(
            args=["find", "import", str(path), "--firm-user", "OWNER@example.com"])
    assert result.exit_code == 0, result.output
    assert "Importing sites.csv" in shown.text and "6/6" in shown.text
    assert "sites.csv: 6 rows, 5 assignments created (drafts), 1 row needs fixing" \
        in result.stdout
    assert "line 7: address:" in result.stderr
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.firm_id == owner.firm.id)) == 5


@pytest.mark.parametrize("args, message", [
    (["--firm-user", "nobody@example.com"], "No account with the email nobody@example.com"),
    (["--firm-user", "tech@example.com"], "Only firm members manage assignments."),
])
def test_find_import_refuses_someone_who_is_not_a_firm_member(app, ctx, tmp_path, args, message):
    factories.technician(email="tech@example.com")
    db.session.commit()
    path = tmp_path / "sites.csv"
    path.write_text("title,address,date\nKiosk,\"Austin, TX\",2030-06-04\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["find", "import", str(path), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_seed_demo_shows_each_stage_and_a_summary(app, ctx, monkeypatch):
    if app.config["BACKEND"] != "sqlite":
        pytest.skip("the demo seed runs once (verify/test_seed.py seeds on both backends)")
    with terminal(monkeypatch) as shown:
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Loading the demo" in shown.text and "5/5" in shown.text
    assert "work on site" in shown.text
    summary = result.stdout
    assert "Demo data loaded in " in summary
    assert "5 firms, 200 technicians" in summary
    assert "Password for every demo account: demo-password-1" in summary


def test_verify_sweep_refuses_a_date_it_cannot_read(app, ctx):
    result = app.test_cli_runner().invoke(args=["verify", "sweep", "--on", "2026-13-01"])
    assert result.exit_code == 2
    assert "Invalid value for '--on'" in result.output and "%Y-%m-%d" in result.output
