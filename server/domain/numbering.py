"""Ticket numbers and the branch's business day.

A number is the series letter and a per-day sequence (``A001``). Green-channel
tickets draw from their own series ``G`` so a priority call never looks like
queue-jumping inside a service's series.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from .model import Priority

GREEN_SERIES = "G"


def business_date(now: datetime, timezone: str) -> date:
    """The branch's calendar day at the aware instant ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(timezone)).date()


def series_for(service_code: str, priority: Priority | str) -> str:
    """The numbering series a ticket draws from: the service letter, or ``G``."""
    return GREEN_SERIES if Priority(priority) is Priority.GREEN else service_code


def format_number(series: str, sequence: int) -> str:
    """``A`` and 7 → ``A007``; past 999 the number simply grows (``A1000``)."""
    if sequence < 1:
        raise ValueError("sequences start at 1")
    return f"{series}{sequence:03d}"

#: The series checked-in appointments draw from (``Y001``), one per branch and day like ``G``.
APPOINTMENT_SERIES = "Y"
