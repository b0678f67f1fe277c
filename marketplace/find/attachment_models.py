"""Files attached to an assignment or a template: site maps, wiring diagrams, work orders."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core import clock
from ..core.types import UTCDateTime
from ..extensions import db


class Attachment(db.Model):
    """One stored file, belonging to exactly one assignment or one template.

    Templates and duplicates copy the row, not the bytes: several rows may share
    a storage key, and the file is deleted with the last row that names it.
    """
    __tablename__ = "assignment_attachments"
    __table_args__ = (CheckConstraint("(assignment_id IS NULL) <> (template_id IS NULL)",
                                      name="one_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("assignment_templates.id"),
                                                    index=True)
    storage_key: Mapped[str] = mapped_column(String(200), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def size_label(self) -> str:
        if self.size_bytes >= 1024 * 1024:
            return f"{self.size_bytes / (1024 * 1024):.1f} MB"
        return f"{max(1, round(self.size_bytes / 1024))} KB"
