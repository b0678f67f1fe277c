"""Technicians submit credentials; admins review them; who may see which document."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from ..accounts.models import TechnicianProfile, TechnicianStatus, User
from ..accounts.policy import firm_id_of
from ..accounts.services import set_technician_status
from ..core import audit, clock, signals
from ..core.actions import Action
from ..core.links import path_for
from ..core.money import format_money
from ..core.transactions import on_commit
from ..core.uploads import Upload, check_upload, clean_filename, store
from ..errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..integrations import storage
from ..notifications.services import notify
from . import relations
from .models import Credential, CredentialKind, CredentialStatus, CredentialType
from .validity import is_valid_on

# The status reason the sweep writes when it suspends; approval lifts only this one.
SUSPENDED_REASON = "All of your credentials have expired. Upload a renewal to be reinstated."
OPEN = (CredentialStatus.PENDING, CredentialStatus.NEEDS_INFO)


def _validate(ctype: CredentialType, *, issued_on: date | None, expires_on: date | None,
              coverage_cents: int | None, upload: Upload | None, has_document: bool) -> None:
    if ctype.expires and expires_on is None:
        raise ValidationFailed.field("expires_on", f"{ctype.name} expires: give the expiry date.")
    if expires_on is not None and expires_on < clock.today():
        raise ValidationFailed.field("expires_on", "That date has passed: submit a current one.")
    if issued_on and expires_on and expires_on <= issued_on:
        raise ValidationFailed.field("expires_on", "The expiry date must be after the issue date.")
    if issued_on and issued_on > clock.today():
        raise ValidationFailed.field("issued_on", "The issue date cannot be in the future.")
    if ctype.kind == CredentialKind.INSURANCE and coverage_cents is None:
        raise ValidationFailed.field("coverage", "Give the coverage amount on the policy.")
    if coverage_cents is not None and coverage_cents < 0:
        raise ValidationFailed.field("coverage", "Coverage cannot be negative.")
    if ctype.requires_document and upload is None and not has_document:
        raise ValidationFailed.field("document", f"{ctype.name} needs a document: attach a "
                                                 "PDF or a photo.")


def submit_credential(user: User, *, credential_type_id: int, number: str | None = None,
                      issuer: str | None = None, issued_on: date | None = None,
                      expires_on: date | None = None, coverage_cents: int | None = None,
                      upload: Upload | None = None) -> Credential:
    """A new submission (or renewal) waiting for review."""
    if not user.is_technician or user.technician is None:
        raise PermissionDenied("Only technicians submit credentials.")
    from .catalog import submittable_types
    ctype = db.session.get(CredentialType, credential_type_id)
    if ctype is None or ctype not in submittable_types(user.technician.id):
        raise ValidationFailed.field("credential_type_id", "Choose a credential type.")
    _validate(ctype, issued_on=issued_on, expires_on=expires_on, coverage_cents=coverage_cents,
              upload=upload, has_document=False)
    tech = user.technician
    current = db.session.scalar(
        select(Credential).where(Credential.technician_id == tech.id,
                                 Credential.credential_type_id == ctype.id,
                                 Credential.status.in_([CredentialStatus.APPROVED,
                                                        CredentialStatus.EXPIRED]))
        .order_by(Credential.expires_on.desc().nulls_first(), Credential.id.desc()).limit(1))
    cred = Credential(technician_id=tech.id, credential_type_id=ctype.id,
                      number=(number or "").strip() or None, issuer=(issuer or "").strip() or None,
                      issued_on=issued_on, expires_on=expires_on if ctype.expires else None,
                      coverage_cents=coverage_cents, status=CredentialStatus.PENDING,
                      supersedes_id=current.id if current else None)
    if upload is not None:
        checked = check_upload(upload)
        cred.document_mime = checked.mime
        cred.document_name = clean_filename(upload.filename)
        cred.document_key = store(checked.data)
    db.session.add(cred)
    db.session.flush()
    audit.record(Action.CREDENTIAL_SUBMITTED, cred, actor=user,
                 after={"type": ctype.name, "expires_on": expires_on,
                        "renewal_of": cred.supersedes_id})
    return cred


def respond_to_request(user: User, cred: Credential, *, number: str | None,
                       issuer: str | None, issued_on: date | None, expires_on: date | None,
                       coverage_cents: int | None, upload: Upload | None) -> Credential:
    """The technician answers "more information needed": the submission goes back in line."""
    if cred.technician.user_id != user.id:
        raise NotFound()
    if cred.status != CredentialStatus.NEEDS_INFO:
        raise InvalidState("Only a submission waiting for more information can be changed.")
    _validate(cred.credential_type, issued_on=issued_on, expires_on=expires_on,
              coverage_cents=coverage_cents, upload=upload,
              has_document=cred.document_key is not None)
    cred.number, cred.issuer = (number or "").strip() or None, (issuer or "").strip() or None
    cred.issued_on, cred.coverage_cents = issued_on, coverage_cents
    cred.expires_on = expires_on if cred.credential_type.expires else None
    if upload is not None:
        checked = check_upload(upload)
        replaced = cred.document_key
        cred.document_mime = checked.mime
        cred.document_name = clean_filename(upload.filename)
        cred.document_key = store(checked.data)
        if replaced is not None:
            # Only this row names a credential's file; it goes once the new one is committed.
            on_commit(lambda: storage.delete(replaced))
    cred.status = CredentialStatus.PENDING
    cred.submitted_at = clock.now()
    audit.record(Action.CREDENTIAL_RESUBMITTED, cred, actor=user)
    return cred


# Review ----------------------------------------------------------------------

def _decide(admin: User, cred: Credential, status: CredentialStatus, reason: str | None) -> None:
    if not admin.is_admin:
        raise PermissionDenied("Only platform admins review credentials.")
    # Conditional UPDATE: two admins deciding at once cannot both win.
    changed = db.session.execute(
        update(Credential).where(Credential.id == cred.id, Credential.status.in_(OPEN))
        .values(status=status, decision_reason=reason, reviewed_by_id=admin.id,
                reviewed_at=clock.now(), updated_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        raise InvalidState("This submission has already been decided.")
    before = cred.status
    db.session.refresh(cred)
    audit.record(Action(f"credential.{status.value}"), cred, actor=admin,
                 before={"status": before}, after={"status": status, "reason": reason})


def _recheck(cred: Credential) -> None:
    """A review changed what the technician holds of this type (a renewal may cover less
    than what it supersedes): their pools, offers, applications and future work are
    re-checked by the sweep's own subscribers and rules, which keep whoever still complies."""
    signals.credentials_lapsed.send(None, pairs=[(cred.technician_id, cred.credential_type_id)],
                                    on=clock.today())


def _covered_before(cred: Credential) -> int | None:
    """The most the technician's earlier credentials of this type covered (None: no amount)."""
    return db.session.scalar(
        select(func.max(Credential.coverage_cents))
        .where(Credential.technician_id == cred.technician_id,
               Credential.credential_type_id == cred.credential_type_id,
               Credential.id != cred.id,
               Credential.status.in_([CredentialStatus.APPROVED, CredentialStatus.EXPIRED])))


def approve(admin: User, cred: Credential) -> Credential:
    _decide(admin, cred, CredentialStatus.APPROVED, None)
    before = _covered_before(cred)
    # The renewal replaces every earlier approved or expired credential of the type.
    db.session.execute(
        update(Credential).where(Credential.technician_id == cred.technician_id,
                                 Credential.credential_type_id == cred.credential_type_id,
                                 Credential.id != cred.id,
                                 Credential.status.in_([CredentialStatus.APPROVED,
                                                        CredentialStatus.EXPIRED]))
        .values(status=CredentialStatus.SUPERSEDED, updated_at=clock.now())
        .execution_options(synchronize_session=False))
    tech = cred.technician
    name = cred.credential_type.name
    body = f"Your {name} was approved" + (f" and is valid through {cred.expires_on.isoformat()}."
                                          if cred.expires_on else ".")
    if before is not None and cred.coverage_cents is not None and cred.coverage_cents < before:
        body += (f" It covers {format_money(cred.coverage_cents)}, less than the "
                 f"{format_money(before)} before: talent pools and work that require more "
                 "are no longer open to you.")
    notify(tech.user, "credential.approved", f"{name} approved", body,
           link=path_for("verify.my_credentials"))
    if tech.status == TechnicianStatus.SUSPENDED and tech.status_reason == SUSPENDED_REASON \
            and is_valid_on(cred, clock.today()):
        set_technician_status(admin, tech, TechnicianStatus.ACTIVE, None)
        notify(tech.user, "technician.reinstated", "You are reinstated",
               "A renewed credential was approved, so you can take work again.",
               link=path_for("verify.my_credentials"))
    signals.credential_approved.send(None, technician_id=tech.id,
                                     credential_type_id=cred.credential_type_id)
    _recheck(cred)
    return cred


def reject(admin: User, cred: Credential, reason: str) -> Credential:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", "Tell the technician why it was rejected.")
    _decide(admin, cred, CredentialStatus.REJECTED, reason)
    _recheck(cred)
    name = cred.credential_type.name
    notify(cred.technician.user, "credential.rejected", f"{name} was not accepted",
           f"Reason: {reason}\nYou can submit it again with the problem fixed.",
           link=path_for("verify.my_credentials"))
    return cred


def request_info(admin: User, cred: Credential, reason: str) -> Credential:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed.field("reason", "Say what information is needed.")
    _decide(admin, cred, CredentialStatus.NEEDS_INFO, reason)
    name = cred.credential_type.name
    notify(cred.technician.user, "credential.needs_info", f"More information needed: {name}",
           reason, link=path_for("verify.credential", credential_id=cred.id))
    return cred


def review_queue(limit: int = 200) -> list[Credential]:
    """Pending submissions in queue order: urgent renewals first, then the oldest."""
    from . import queue
    return queue.review_queue(limit, now=clock.now(), today=clock.today())


def list_for_technician(tech: TechnicianProfile, *, for_firm: bool = False) -> list[Credential]:
    """A technician's credentials, newest first; firms never see rejected ones."""
    stmt = select(Credential).where(Credential.technician_id == tech.id)
    if for_firm:
        stmt = stmt.where(Credential.status.in_([CredentialStatus.APPROVED,
                                                 CredentialStatus.EXPIRED,
                                                 CredentialStatus.PENDING]))
    return list(db.session.scalars(stmt.options(joinedload(Credential.credential_type))
                                   .order_by(Credential.submitted_at.desc(),
                                             Credential.id.desc())))


# Who may see what ------------------------------------------------------------

def access_credential(user: User, credential_id: int) -> Credential:
    """The owner technician or an admin; everyone else gets NotFound."""
    cred = db.session.get(Credential, credential_id)
    if cred is None:
        raise NotFound()
    if user.is_admin or (user.is_technician and user.technician is not None
                         and cred.technician_id == user.technician.id):
        return cred
    raise NotFound()


def can_see_document(user: User, cred: Credential) -> bool:
    """Owner and admins; a firm only an approved one of a technician it works with."""
    if cred.document_key is None:
        return False
    if user.is_admin:
        return True
    if user.is_technician and user.technician is not None:
        return cred.technician_id == user.technician.id
    if user.is_firm_user:
        return (cred.status == CredentialStatus.APPROVED
                and relations.works_with(firm_id_of(user), cred.technician_id))
    return False


def read_document(user: User, cred: Credential) -> tuple[bytes, str, str]:
    if not can_see_document(user, cred):
        raise NotFound()
    return storage.load(cred.document_key), cred.document_mime, cred.document_name or "document"


def access_technician_for_firm(user: User, technician_id: int) -> TechnicianProfile:
    """Admins see any technician; a firm only those it works with (verify.relations)."""
    if not (user.is_firm_user or user.is_admin):
        raise NotFound()
    tech = db.session.get(TechnicianProfile, technician_id)
    if tech is None:
        raise NotFound()
    if user.is_firm_user and not relations.works_with(firm_id_of(user), tech.id):
        raise NotFound()
    return tech


def access_document_for_firm(user: User, technician_id: int,
                             credential_id: int) -> Credential:
    """An approved credential with a document, of a technician the firm works with."""
    tech = access_technician_for_firm(user, technician_id)
    cred = db.session.get(Credential, credential_id)
    if cred is None or cred.technician_id != tech.id or not can_see_document(user, cred):
        raise NotFound()
    return cred
