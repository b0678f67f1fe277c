"""The demo data loads and gives every verify screen something to show."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.verify.expiry import run_sweep
from marketplace.verify.models import Credential, CredentialStatus, RequirementSet


def test_seed_demo_loads_credentials_in_every_state_and_the_sweep_has_work(app, ctx):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    counts = dict(db.session.execute(select(Credential.status, func.count())
                                     .group_by(Credential.status)).all())
    for status in (CredentialStatus.APPROVED, CredentialStatus.PENDING,
                   CredentialStatus.EXPIRED, CredentialStatus.REJECTED):
        assert counts.get(status), status
    assert db.session.scalar(select(func.count()).select_from(RequirementSet)) >= 2
    first = run_sweep()
    db.session.commit()
    assert first.expired > 0 and first.reminders > 0
    assert run_sweep().changes == 0
