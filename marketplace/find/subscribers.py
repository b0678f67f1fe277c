"""Signal subscribers that keep find's derived data in step with other stages."""
from __future__ import annotations

from sqlalchemy import or_, select

from ..core.signals import (
    credential_approved,
    credentials_lapsed,
    subscribe,
    technician_changed,
)
from ..verify.relations import register_relation
from .match_index import reindex_technician, reindex_technicians
from .models import Assignment, PoolMember, PoolMemberStatus, TalentPool
from .pools import LAPSED, LAPSED_APPLICATION


def _on_technician_changed(technician_id=None, *, technician_ids=None, **_):
    if technician_ids is not None:
        reindex_technicians(technician_ids)
    elif technician_id is not None:
        reindex_technician(technician_id)


def _on_credentials_lapsed(_sender=None, *, pairs, on, **_):
    from .pools import remove_lapsed_members
    remove_lapsed_members(pairs, on)


def _on_credential_approved(_sender=None, *, technician_id, credential_type_id, **_):
    from .pools import reinstate_members
    reinstate_members(technician_id, credential_type_id)


def _assignees():
    """Technicians who hold or held (the current assignee of) a firm's assignment."""
    return select(Assignment.firm_id.label("firm_id"),
                  Assignment.assignee_id.label("technician_id")).where(
        Assignment.assignee_id.is_not(None))


def _pool_members():
    """Members of a firm's pools (they accepted an invitation or were approved), those
    applying, and those removed for a lapse (who come back on renewal); not those merely
    invited, those the firm removed, or those who declined or left."""
    return (select(TalentPool.firm_id.label("firm_id"),
                   PoolMember.technician_id.label("technician_id"))
            .join(TalentPool, TalentPool.id == PoolMember.pool_id)
            .where(or_(PoolMember.status.in_([PoolMemberStatus.ACTIVE,
                                              PoolMemberStatus.APPLIED]),
                       PoolMember.removed_reason.in_((LAPSED, LAPSED_APPLICATION)))))


def _pool_invitations():
    """Technicians a firm invited to a pool (the firm reached out; they have not said yes)."""
    return (select(TalentPool.firm_id.label("firm_id"),
                   PoolMember.technician_id.label("technician_id"))
            .join(TalentPool, TalentPool.id == PoolMember.pool_id)
            .where(PoolMember.status == PoolMemberStatus.INVITED))


def init_app(app) -> None:
    subscribe(app, technician_changed, _on_technician_changed)
    subscribe(app, credentials_lapsed, _on_credentials_lapsed)
    subscribe(app, credential_approved, _on_credential_approved)
    register_relation(app, _assignees)
    register_relation(app, _pool_members)
    register_relation(app, _pool_invitations, reached_out=True)
