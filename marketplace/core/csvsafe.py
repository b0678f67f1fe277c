"""CSV the product writes: no cell a spreadsheet would run as a formula.

Excel, LibreOffice and Google Sheets treat a cell that starts with =, +, -, @,
a tab or a carriage return (and the full-width =, +, -, @) as a formula, which
can run commands or send the sheet's data away ("CSV injection"). Text the
product did not write itself (titles, addresses, names, notes) may start that
way, so every CSV export goes through `write_csv`, which passes each cell
through `neutralise`: such a text cell gets a leading apostrophe, which the
spreadsheet shows as text. Numbers (int, float, Decimal) are written as they
are: a number is never a formula, and "-5" must stay a number.

Imports store cells as they are; only what is written out is neutralised.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any, Iterable, Sequence

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(cell: Any) -> str:
    """The cell as CSV text that a spreadsheet shows as written, never runs."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, (int, float, Decimal)):
        return str(cell)
    text = str(cell)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_csv(rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    """RFC 4180 CSV text (CRLF line ends, quoted where needed), every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header is not None:
        writer.writerow([neutralise(name) for name in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()
