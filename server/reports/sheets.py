"""Plain tables (a list of rows under named columns) as CSV and XLSX, for the supervision reports.

The same care as :mod:`server.reports.export`: text never becomes a formula (a leading ``'``
in CSV, string cells in XLSX); numbers stay numbers. Columns are headed by their keys.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import xlsxwriter

from .export import csv_text

Table = tuple[str, Sequence[str], Sequence[Mapping[str, Any]]]
"""(sheet name, columns, rows)."""


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return value.get("en") or ", ".join(f"{k}={v}" for k, v in value.items())
    return value


def to_csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]], headings: Sequence[str] | None = None) -> str:
    """``headings`` (default: the column keys) head the columns."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_text(h) for h in headings] if headings else columns)
    for row in rows:
        writer.writerow([csv_text(_cell(row.get(c))) if row.get(c) is not None else "" for c in columns])
    return buffer.getvalue()


def to_xlsx(tables: Sequence[Table], headings: Mapping[str, str] | None = None) -> bytes:
    """One sheet per table; ``headings`` (column key → heading, default the key) head the columns."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    for name, columns, rows in tables:
        ws = book.add_worksheet(name[:31])
        for col, c in enumerate(columns):
            ws.write_string(0, col, (headings or {}).get(c, c), bold)
        for r, row in enumerate(rows, start=1):
            for col, c in enumerate(columns):
                value = _cell(row.get(c))
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, int | float):
                    ws.write_string(r, col, str(value))
                else:
                    ws.write_number(r, col, value)
        ws.set_column(0, len(columns) - 1, 14)
    book.close()
    return buffer.getvalue()
