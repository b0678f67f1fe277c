"""One pagination convention for pages and the API: ?page=1&per_page=25."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from sqlalchemy import Select, func, select

from ..errors import ValidationFailed
from ..extensions import db

MAX_PER_PAGE = 100
_DIGITS = re.compile(r"[0-9]{1,9}")
MAX_PAGE = 10_000  # deeper than anyone reads; keeps OFFSET a number every database takes


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    def meta(self) -> dict:
        return {"page": self.page, "per_page": self.per_page, "total": self.total,
                "pages": self.pages,
                "next_page": self.page + 1 if self.has_next else None}

    def to_json(self, serialize: Callable[[Any], dict]) -> dict:
        return {"data": [serialize(item) for item in self.items], "meta": self.meta()}


def _whole(args: Mapping[str, str], name: str, default: int, maximum: int,
           errors: dict[str, str]) -> int:
    raw = str(args.get(name, default)).strip()
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        errors[name] = f"A whole number from 1 to {maximum}."
        return default
    return int(raw)


def page_args(args: Mapping[str, str], default_per_page: int = 25) -> tuple[int, int]:
    errors: dict[str, str] = {}
    page = _whole(args, "page", 1, MAX_PAGE, errors)
    per_page = _whole(args, "per_page", default_per_page, MAX_PER_PAGE, errors)
    if errors:
        raise ValidationFailed("Check " + " and ".join(sorted(errors)) + ".", fields=errors)
    return page, per_page


def paginate(stmt: Select, page: int, per_page: int) -> Page:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, per_page=per_page, total=total or 0)
