"""Invoices for the firm and payment statements for the technician, issued on approval.

Each is a numbered document that never changes: numbers run in sequence per series
("INV-2026", "PS-2026"), with no gaps, taken from a counter row in the approval's
own transaction (an upsert that increments it and returns the new number, so two
approvals at once get two numbers). What a document says is fixed when it is
issued; the payout it promises is read live next to it.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import User
from ..accounts.policy import firm_id_of
from ..core import audit, clock
from ..core.actions import Action
from ..errors import NotFound
from ..extensions import db
from .payables import Payable
from .payout_models import DocumentKind, DocumentSeries, PayDocument, PayoutIntent


def series_of(kind: DocumentKind, issued_at: datetime) -> str:
    return f"{kind.prefix}-{issued_at.year}"


def next_number(series: str) -> int:
    """The next number in the series: one atomic upsert, locked until commit."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    table = DocumentSeries.__table__
    stmt = dialect.insert(table).values(series=series, last_number=1)
    stmt = stmt.on_conflict_do_update(index_elements=["series"],
                                      set_={"last_number": table.c.last_number + 1})
    return db.session.execute(stmt.returning(table.c.last_number)).scalar_one()


def _details(assignment, payable: Payable) -> dict:
    firm, tech = assignment.firm, payable.technician
    return {"title": assignment.title, "address": assignment.address,
            "timezone": assignment.timezone,
            "starts_at": assignment.starts_at.isoformat() if assignment.starts_at else None,
            "ends_at": assignment.ends_at.isoformat() if assignment.ends_at else None,
            "firm_name": firm.legal_name or firm.name, "firm_address": ", ".join(
                p for p in (firm.address_line, firm.city, firm.state, firm.postal_code) if p),
            "technician_name": tech.user.name, "approved_at": payable.approved_at.isoformat(),
            "auto_approved": bool(payable.auto_approved),
            "payment_terms_days": payable.payment_terms_days,
            "kind": payable.kind.value}


def issue_for(payable: Payable) -> tuple[PayDocument, PayDocument]:
    """The invoice and the statement for a payable (once: the same ones again after)."""
    found = {d.kind: d for d in db.session.scalars(select(PayDocument).where(
        PayDocument.assignment_id == payable.assignment_id))}
    now = clock.now()
    details = _details(payable.assignment, payable)
    for kind in (DocumentKind.INVOICE, DocumentKind.STATEMENT):
        if kind in found:
            continue
        series = series_of(kind, now)
        doc = PayDocument(kind=kind, series=series, number=next_number(series),
                          assignment_id=payable.assignment_id, firm_id=payable.firm_id,
                          technician_id=payable.technician_id,
                          labour_cents=payable.labour_cents, expenses_cents=payable.expenses_cents,
                          fee_cents=payable.fee_cents, total_cents=payable.gross_cents,
                          currency=payable.currency, payout_date=payable.due_on,
                          details=details, issued_at=now)
        db.session.add(doc)
        db.session.flush()
        audit.record(Action.PAY_DOCUMENT_ISSUED, doc, firm_id=doc.firm_id,
                     after={"number": doc.display_number, "total_cents": doc.total_cents})
        if kind == DocumentKind.INVOICE:
            from . import announce
            announce.invoice_created(doc)
        found[kind] = doc
    return found[DocumentKind.INVOICE], found[DocumentKind.STATEMENT]


def on_approved(assignment, **_kwargs) -> None:
    """After the books recorded the payable (same transaction): issue both documents."""
    payable = db.session.scalar(select(Payable).where(Payable.assignment_id == assignment.id))
    if payable is not None:
        issue_for(payable)


# Reading ---------------------------------------------------------------------------------------

def access_document(user: User, document_id: int) -> PayDocument:
    """An admin reads any; a firm its invoices; a technician their statements."""
    doc = db.session.get(PayDocument, document_id)
    if doc is None or not _may_read(user, doc):
        raise NotFound()
    return doc


def _may_read(user: User, doc: PayDocument) -> bool:
    if user.is_admin:
        return True
    if doc.kind == DocumentKind.INVOICE:
        return firm_id_of(user) == doc.firm_id
    tech = user.technician if user.is_technician else None
    return tech is not None and tech.id == doc.technician_id


def documents_for(user: User, *, start: date | None = None, end: date | None = None,
                  limit: int | None = None):
    """The user's documents, newest first: a firm's invoices, a technician's statements."""
    stmt = select(PayDocument).order_by(PayDocument.issued_at.desc(), PayDocument.id.desc())
    firm_id = firm_id_of(user)
    if firm_id is not None:
        stmt = stmt.where(PayDocument.kind == DocumentKind.INVOICE, PayDocument.firm_id == firm_id)
    elif user.is_technician and user.technician is not None:
        stmt = stmt.where(PayDocument.kind == DocumentKind.STATEMENT,
                          PayDocument.technician_id == user.technician.id)
    else:
        stmt = stmt.where(PayDocument.id.is_(None))
    if start is not None:
        stmt = stmt.where(PayDocument.issued_at >= _midnight(start))
    if end is not None:
        stmt = stmt.where(PayDocument.issued_at < _midnight(end))
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt


def _midnight(day: date) -> datetime:
    from datetime import time, timezone
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def payout_of(doc: PayDocument) -> PayoutIntent | None:
    return db.session.scalar(select(PayoutIntent).where(
        PayoutIntent.assignment_id == doc.assignment_id))
