"""A firm's own lists of technicians: private notes, favourites and blocks.

Blocks are find's `FirmBlock`, the row its exclusion rule reads (never matched, routed,
offered nor accepted for that firm's work); here they get a page and an audit trail,
and a block closes the firm's live offers to the technician at once.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update

from ..accounts.models import TechnicianProfile, User
from ..accounts.policy import require_member
from ..core import audit, clock
from ..core.actions import Action
from ..engage.models import LIVE_OFFER_STATES, Offer, OfferStatus
from ..errors import InvalidState, ValidationFailed
from ..extensions import db
from ..find.models import Assignment, FirmBlock
from .models import Favourite, TechnicianNote

NOTE_MAX = 4000


def _firm_id(user: User) -> int:
    firm = getattr(user, "firm", None)
    require_member(user, firm.id if firm else None, message="Only a firm's members keep lists.")
    return firm.id


@dataclass
class Standing:
    """What this firm has on one technician (shown on the technician's profile)."""
    note: str | None
    favourite: bool
    blocked: bool
    block_reason: str | None


def standing_columns(firm_id: int, technician_id) -> list:
    """The columns of a firm's standing with a technician, for one statement."""
    def first(column, model):
        return select(column).where(model.firm_id == firm_id,
                                    model.technician_id == technician_id).scalar_subquery()
    fav = select(Favourite.id).where(Favourite.firm_id == firm_id,
                                     Favourite.technician_id == technician_id).exists()
    return [fav.label("s_fav"), first(TechnicianNote.body, TechnicianNote).label("s_note"),
            first(FirmBlock.id, FirmBlock).label("s_block"),
            first(FirmBlock.reason, FirmBlock).label("s_reason")]


def standing_of(fav, note, block_id, reason) -> Standing:
    return Standing(note, bool(fav), block_id is not None, reason)


def standing(firm_id: int, technician_id: int) -> Standing:
    """The firm's note, favourite and block of one technician, in one statement."""
    return standing_of(*db.session.execute(select(*standing_columns(firm_id,
                                                                    technician_id))).one())


def _block_of(firm_id: int, technician_id: int) -> FirmBlock | None:
    return db.session.scalar(select(FirmBlock).where(FirmBlock.firm_id == firm_id,
                                                     FirmBlock.technician_id == technician_id))


def save_note(user: User, technician: TechnicianProfile, body: str) -> TechnicianNote | None:
    firm_id = _firm_id(user)
    body = (body or "").strip()
    if len(body) > NOTE_MAX:
        raise ValidationFailed.field("body", f"At most {NOTE_MAX} characters.")
    note = db.session.scalar(select(TechnicianNote).where(
        TechnicianNote.firm_id == firm_id, TechnicianNote.technician_id == technician.id)
        .with_for_update())
    if note is None:
        note = TechnicianNote(firm_id=firm_id, technician_id=technician.id, author_id=user.id)
        db.session.add(note)
    note.body, note.author_id, note.updated_at = body, user.id, clock.now()
    db.session.flush()
    audit.record(Action.TECHNICIAN_NOTE_SAVED, note, actor=user, firm_id=firm_id,
                 after={"technician_id": technician.id, "length": len(body)})
    return note


def add_favourite(user: User, technician: TechnicianProfile) -> Favourite:
    firm_id = _firm_id(user)
    if _block_of(firm_id, technician.id) is not None:
        raise InvalidState("Unblock this technician before adding them to favourites.")
    existing = db.session.scalar(select(Favourite).where(
        Favourite.firm_id == firm_id, Favourite.technician_id == technician.id))
    if existing is not None:
        return existing
    fav = Favourite(firm_id=firm_id, technician_id=technician.id, created_by_id=user.id)
    db.session.add(fav)
    db.session.flush()
    audit.record(Action.FAVOURITE_ADDED, fav, actor=user, firm_id=firm_id,
                 after={"technician_id": technician.id})
    return fav


def remove_favourite(user: User, technician: TechnicianProfile) -> None:
    firm_id = _firm_id(user)
    gone = db.session.execute(delete(Favourite).where(
        Favourite.firm_id == firm_id, Favourite.technician_id == technician.id)).rowcount
    if gone:
        audit.record(Action.FAVOURITE_REMOVED, subject_type="favourites", actor=user,
                     firm_id=firm_id, after={"technician_id": technician.id})


def block(user: User, technician: TechnicianProfile, reason: str) -> FirmBlock:
    """Block: never matched, routed or offered this firm's work; live offers close."""
    firm_id = _firm_id(user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", "Say why (only your firm sees it).")
    existing = _block_of(firm_id, technician.id)
    if existing is not None:
        return existing
    row = FirmBlock(firm_id=firm_id, technician_id=technician.id, reason=reason[:300])
    db.session.add(row)
    db.session.execute(delete(Favourite).where(Favourite.firm_id == firm_id,
                                               Favourite.technician_id == technician.id))
    firm_work = select(Assignment.id).where(Assignment.firm_id == firm_id)
    closed = db.session.execute(
        update(Offer).where(Offer.technician_id == technician.id,
                            Offer.status.in_(LIVE_OFFER_STATES),
                            Offer.assignment_id.in_(firm_work))
        .values(status=OfferStatus.CLOSED).execution_options(synchronize_session=False)).rowcount
    db.session.flush()
    audit.record(Action.TECHNICIAN_BLOCKED, row, actor=user, firm_id=firm_id,
                 after={"technician_id": technician.id, "reason": row.reason,
                        "offers_closed": closed})
    return row


def unblock(user: User, technician: TechnicianProfile) -> None:
    firm_id = _firm_id(user)
    row = _block_of(firm_id, technician.id)
    if row is None:
        return
    audit.record(Action.TECHNICIAN_UNBLOCKED, row, actor=user, firm_id=firm_id,
                 before={"technician_id": technician.id, "reason": row.reason})
    db.session.delete(row)
    db.session.flush()


def favourites_of(firm_id: int) -> list[Favourite]:
    return list(db.session.scalars(select(Favourite).where(Favourite.firm_id == firm_id)
                                   .order_by(Favourite.created_at.desc())))


def blocks_of(firm_id: int) -> list[tuple[FirmBlock, TechnicianProfile]]:
    return list(db.session.execute(
        select(FirmBlock, TechnicianProfile)
        .join(TechnicianProfile, TechnicianProfile.id == FirmBlock.technician_id)
        .where(FirmBlock.firm_id == firm_id).order_by(FirmBlock.created_at.desc())).all())


def favourite_ids(firm_id: int) -> list[int]:
    """Engage's routing target "favourites" (a hook: engage does not import rate)."""
    return list(db.session.scalars(select(Favourite.technician_id)
                                   .where(Favourite.firm_id == firm_id)))
