"""When a closed branch or service opens next: a pure function of the hours, holidays and now."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.domain.hours import next_opening

SHANGHAI = "Asia/Shanghai"
WEEKDAYS = {d: [["08:30", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
AFTERNOONS = {d: [["14:00", "16:30"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def local(text: str) -> datetime:
    """A wall-clock time in Shanghai, as an aware instant."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(SHANGHAI))


@pytest.mark.parametrize(
    ("now", "schedules", "expected"),
    [
        pytest.param("2026-03-02 07:00", [(WEEKDAYS, [])], "2026-03-02 08:30", id="before-opening"),
        pytest.param("2026-03-02 12:10", [(WEEKDAYS, [])], "2026-03-02 13:00", id="over-lunch"),
        pytest.param("2026-03-06 18:00", [(WEEKDAYS, [])], "2026-03-09 08:30", id="friday-evening-to-monday"),
        pytest.param("2026-03-02 07:00", [(WEEKDAYS, ["2026-03-02"])], "2026-03-03 08:30", id="holiday-skipped"),
        pytest.param("2026-03-02 09:00", [(WEEKDAYS, []), (AFTERNOONS, [])], "2026-03-02 14:00",
                     id="service-opens-later-than-branch"),
        pytest.param("2026-03-02 09:00", [({"sat": [["09:00", "12:00"]]}, []), (AFTERNOONS, [])], None,
                     id="never-both-open"),
        pytest.param("2026-03-02 09:00", [({}, [])], None, id="always-open"),
    ],
)
def test_next_opening_is_the_first_start_when_every_schedule_is_open(now, schedules, expected):
    answer = next_opening(schedules, local(now), SHANGHAI)
    assert answer == (local(expected) if expected else None)


def test_next_opening_is_in_the_branch_zone_whatever_zone_now_is_in():
    answer = next_opening([(WEEKDAYS, [])], datetime(2026, 3, 1, 23, 0, tzinfo=UTC), SHANGHAI)
    assert answer is not None and answer.isoformat() == "2026-03-02T08:30:00+08:00"
