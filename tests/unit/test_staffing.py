"""Erlang C against the worked example published by Call Centre Helper
("Erlang C Formula – Made Simple With an Easy Worked Example"): 100 calls in 30 minutes,
180 s average handling time, 80% to be answered within 20 s.

Published figures: 10 erlangs of traffic; with 11 agents the probability of waiting is
68.21%, the average speed of answer 122.8 s and the service level 39.0%; 14 agents are
the fewest that reach 80% (88.8%).
"""

from __future__ import annotations

import math

import pytest

from server.domain.staffing import counters_needed, erlang_c, evaluate


def test_published_example_with_eleven_agents():
    s = evaluate(arrivals=100, period_s=1800, aht_s=180, agents=11, target_s=20)
    assert s.traffic == pytest.approx(10.0)
    assert s.p_wait == pytest.approx(0.6821, abs=5e-5)
    assert s.asa_s == pytest.approx(122.8, abs=0.05)
    assert s.service_level == pytest.approx(0.390, abs=5e-4)
    assert s.occupancy == pytest.approx(10 / 11)


def test_published_example_needs_fourteen_agents_for_eighty_percent():
    s = counters_needed(100, 1800, 180, target_s=20, sla=0.8)
    assert s.counters == 14
    assert s.service_level == pytest.approx(0.888, abs=5e-4)


@pytest.mark.parametrize(
    ("traffic", "agents", "expected"),
    [(10.0, 10, 1.0), (10.0, 9, 1.0), (0.0, 3, 0.0)],
)
def test_edges_overloaded_and_idle(traffic, agents, expected):
    assert erlang_c(traffic, agents) == expected


def test_no_arrivals_need_no_counter():
    assert counters_needed(0, 3600, 300, target_s=600, sla=0.8).counters == 0


def test_stable_for_hundreds_of_servers():
    p = erlang_c(480.0, 500)
    assert 0 < p < 1 and not math.isnan(p)
