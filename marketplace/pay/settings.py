"""A firm's pay settings: days of silence before work is approved on its own, payment terms
(when a technician is paid after approval) and the platform's fee."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from ..accounts.models import Role, User
from ..accounts.policy import require_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.transactions import per_transaction
from ..core.types import UTCDateTime
from ..errors import ValidationFailed
from ..extensions import db

AUTO_APPROVE_DAYS = range(3, 15)
DEFAULT_AUTO_APPROVE_DAYS = 7
PAYMENT_TERMS = (0, 7, 15, 30)       # 0 = immediately on approval
DEFAULT_PLATFORM_FEE_BPS = 1000      # 10 % of labour; expenses are passed through


class PayFirmSettings(db.Model):
    __tablename__ = "pay_firm_settings"

    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.id"), primary_key=True)
    auto_approve_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_AUTO_APPROVE_DAYS)
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=0)
    platform_fee_bps: Mapped[int] = mapped_column(Integer, default=DEFAULT_PLATFORM_FEE_BPS)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now,
                                                 onupdate=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


@dataclass(frozen=True)
class PaySettings:
    auto_approve_days: int = DEFAULT_AUTO_APPROVE_DAYS
    payment_terms_days: int = 0
    platform_fee_bps: int = DEFAULT_PLATFORM_FEE_BPS

    @property
    def terms_label(self) -> str:
        return terms_label(self.payment_terms_days)


def terms_label(days: int) -> str:
    return "Immediately on approval" if days == 0 else f"{days} days after approval"


# A firm's settings as this transaction read them: a page that shows several dates reads
# them once, even for a firm that never changed them (no row, nothing the session keeps).
_READ = "pay_settings_read"
per_transaction(_READ)


def for_firm(firm_id: int) -> PaySettings:
    read = db.session.info.setdefault(_READ, {})
    if firm_id not in read:
        row = db.session.get(PayFirmSettings, firm_id)
        read[firm_id] = PaySettings() if row is None else PaySettings(
            row.auto_approve_days, row.payment_terms_days, row.platform_fee_bps)
    return read[firm_id]


def _forget(firm_id: int) -> None:
    db.session.info.get(_READ, {}).pop(firm_id, None)


def _whole(value: object, field: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed.field(field, "Choose one of the options.") from None


def update_settings(user: User, firm_id: int, *, auto_approve_days: object,
                    payment_terms_days: object) -> PaySettings:
    """A firm manager changes when silent work is approved and when technicians are paid."""
    require_member(user, firm_id, Role.OWNER, Role.MANAGER,
                   message="Only the firm's owner or a manager changes payment settings.")
    days = _whole(auto_approve_days, "auto_approve_days")
    if days not in AUTO_APPROVE_DAYS:
        raise ValidationFailed.field("auto_approve_days", "Choose between 3 and 14 days.")
    terms = _whole(payment_terms_days, "payment_terms_days")
    if terms not in PAYMENT_TERMS:
        raise ValidationFailed.field("payment_terms_days",
                                     "Choose immediately, 7, 15 or 30 days.")
    row = db.session.get(PayFirmSettings, firm_id, with_for_update=True)
    _forget(firm_id)                        # read again, under the lock
    before = for_firm(firm_id)
    if (days, terms) == (before.auto_approve_days, before.payment_terms_days):
        return before                       # nothing changes: no row, no audit entry
    if row is None:
        row = PayFirmSettings(firm_id=firm_id)
        db.session.add(row)
    row.auto_approve_days, row.payment_terms_days = days, terms
    row.updated_by_id, row.updated_at = user.id, clock.now()
    db.session.flush()
    audit.record(Action.PAY_SETTINGS_CHANGED, actor=user, firm_id=firm_id,
                 subject_type="pay_firm_settings", subject_id=firm_id,
                 before={"auto_approve_days": before.auto_approve_days,
                         "payment_terms_days": before.payment_terms_days},
                 after={"auto_approve_days": days, "payment_terms_days": terms})
    _forget(firm_id)
    return for_firm(firm_id)
