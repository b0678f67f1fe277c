"""Assignment attachments: upload, list, copy to templates and duplicates, delete.

Who may read one is decided by `access.access_attachment`; files are checked by
`uploads.check_upload` and kept by `integrations/storage.py`.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ..accounts.models import User
from ..accounts.policy import require_member
from ..core import audit
from ..core.actions import Action
from ..core.transactions import on_commit
from ..core.uploads import Upload, check_upload, clean_filename, store
from ..errors import InvalidState, PermissionDenied, ValidationFailed
from ..extensions import db
from ..integrations import storage
from .attachment_models import Attachment
from .models import Assignment, AssignmentStatus, AssignmentTemplate

MAX_PER_OWNER = 20
# Files can be added until the work is done; removed only before anyone has it.
UPLOAD_STATES = (AssignmentStatus.DRAFT, AssignmentStatus.PUBLISHED, AssignmentStatus.ASSIGNED,
                 AssignmentStatus.IN_PROGRESS)
DELETE_STATES = (AssignmentStatus.DRAFT, AssignmentStatus.PUBLISHED)
Owner = Assignment | AssignmentTemplate


def _owner_filter(owner: Owner):
    if isinstance(owner, Assignment):
        return Attachment.assignment_id == owner.id
    return Attachment.template_id == owner.id


def _check_firm(user: User, firm_id: int) -> None:
    require_member(user, firm_id, message="Only the firm's own members manage its attachments.")


def list_attachments(owner: Owner) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(_owner_filter(owner))
                                   .order_by(Attachment.created_at, Attachment.id)))


def add_attachment(user: User, assignment: Assignment, upload: Upload) -> Attachment:
    """Check the file by its content and size, store it, attach it."""
    _check_firm(user, assignment.firm_id)
    if assignment.status not in UPLOAD_STATES:
        raise InvalidState("Files can only be added before the work is done.")
    count = db.session.scalar(select(func.count(Attachment.id))
                              .where(_owner_filter(assignment)))
    if count >= MAX_PER_OWNER:
        raise ValidationFailed.field("file", f"An assignment holds at most {MAX_PER_OWNER} files.")
    checked = check_upload(upload, field="file")
    attachment = Attachment(firm_id=assignment.firm_id, assignment_id=assignment.id,
                            storage_key=store(checked.data),
                            filename=clean_filename(upload.filename), mime=checked.mime,
                            size_bytes=len(checked.data), uploaded_by_id=user.id)
    db.session.add(attachment)
    db.session.flush()
    audit.record(Action.ATTACHMENT_ADDED, attachment, actor=user, firm_id=assignment.firm_id,
                 after={"assignment_id": assignment.id, "filename": attachment.filename})
    return attachment


def copy_attachments(user: User, source: Owner, target: Owner) -> list[Attachment]:
    """Templates and duplicates carry the source's files (the rows, not the bytes)."""
    if source.firm_id != target.firm_id:
        raise PermissionDenied("Files stay within their firm.")
    copies = []
    for original in list_attachments(source):
        copy = Attachment(firm_id=target.firm_id, storage_key=original.storage_key,
                          filename=original.filename, mime=original.mime,
                          size_bytes=original.size_bytes, uploaded_by_id=user.id)
        if isinstance(target, Assignment):
            copy.assignment_id = target.id
        else:
            copy.template_id = target.id
        db.session.add(copy)
        copies.append(copy)
    db.session.flush()
    return copies


def _discard(attachment: Attachment) -> None:
    """Delete the row, and the stored file once no other row names it (after commit)."""
    key = attachment.storage_key
    db.session.delete(attachment)
    db.session.flush()
    still_used = db.session.scalar(select(Attachment.id).where(Attachment.storage_key == key)
                                   .limit(1))
    if still_used is None:
        on_commit(lambda: storage.delete(key))


def delete_attachment(user: User, attachment: Attachment) -> None:
    _check_firm(user, attachment.firm_id)
    if attachment.assignment_id is not None:
        assignment = db.session.get(Assignment, attachment.assignment_id)
        if assignment.status not in DELETE_STATES:
            raise InvalidState("Files can only be removed while the assignment is a draft "
                               "or published and not yet assigned.")
    audit.record(Action.ATTACHMENT_DELETED, attachment, actor=user, firm_id=attachment.firm_id,
                 before={"assignment_id": attachment.assignment_id,
                         "template_id": attachment.template_id,
                         "filename": attachment.filename})
    _discard(attachment)


def delete_all(owner: Owner) -> None:
    """A template being deleted takes its files with it."""
    for attachment in list_attachments(owner):
        _discard(attachment)


def read_attachment(attachment: Attachment) -> bytes:
    """The bytes; callers load the attachment through `access_attachment` first."""
    return storage.load(attachment.storage_key)
