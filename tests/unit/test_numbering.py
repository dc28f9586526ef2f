"""Ticket numbers and the branch's business day (DESIGN.md, "Domain", numbering)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from server.domain.model import Priority
from server.domain.numbering import GREEN_SERIES, business_date, format_number, series_for


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        # 16:30 UTC is 00:30 the next morning in Shanghai (UTC+8)
        (datetime(2026, 3, 1, 16, 30, tzinfo=UTC), "Asia/Shanghai", date(2026, 3, 2)),
        (datetime(2026, 3, 1, 16, 30, tzinfo=UTC), "UTC", date(2026, 3, 1)),
        # the last second before Shanghai midnight, and midnight itself
        (datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), "Asia/Shanghai", date(2026, 3, 1)),
        (datetime(2026, 3, 1, 16, 0, tzinfo=UTC), "Asia/Shanghai", date(2026, 3, 2)),
        # west of UTC the branch is still on the previous day
        (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "America/New_York", date(2026, 3, 1)),
        (datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "Asia/Hong_Kong", date(2026, 1, 5)),
        # an aware instant given in another offset is the same instant
        (
            datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=8))),
            "UTC",
            date(2026, 3, 1),
        ),
    ],
)
def test_business_date_is_the_calendar_day_in_the_branch_time_zone(now, tz, expected):
    assert business_date(now, tz) == expected


def test_business_date_refuses_a_naive_datetime():
    with pytest.raises(ValueError):
        business_date(datetime(2026, 3, 1, 16, 30), "Asia/Shanghai")


@pytest.mark.parametrize(
    ("service", "priority", "expected"),
    [
        ("A", Priority.NORMAL, "A"),
        ("D", Priority.NORMAL, "D"),
        ("A", Priority.GREEN, "G"),
        ("E", Priority.GREEN, "G"),
        ("B", "normal", "B"),
        ("B", "green", "G"),
    ],
)
def test_green_channel_tickets_draw_from_their_own_series(service, priority, expected):
    assert series_for(service, priority) == expected


def test_green_series_is_g():
    assert GREEN_SERIES == "G"


def test_series_for_refuses_an_unknown_priority():
    with pytest.raises(ValueError):
        series_for("A", "vip")


@pytest.mark.parametrize(
    ("series", "sequence", "expected"),
    [
        ("A", 1, "A001"),
        ("A", 7, "A007"),
        ("B", 23, "B023"),
        ("A", 999, "A999"),
        ("A", 1000, "A1000"),
        ("G", 12, "G012"),
    ],
)
def test_format_number_is_letter_and_three_digits(series, sequence, expected):
    assert format_number(series, sequence) == expected


@pytest.mark.parametrize("sequence", [0, -1])
def test_sequences_start_at_one(sequence):
    with pytest.raises(ValueError):
        format_number("A", sequence)
