"""Against queueing theory: an M/M/c day (constant arrival rate, exponential service, FIFO, no
green channel, no no-shows) waits as Erlang C says, so the simulator and the staffing advice
check each other."""

from __future__ import annotations

import pytest

from server.domain.staffing import evaluate
from server.simulate import scenario as scenarios
from server.simulate.run import simulate

MMC_SERVERS, MMC_AHT, MMC_RATE = 3, 300.0, 25.0  # 25 an hour × 300 s = 2.08 erlangs on 3 counters


@pytest.mark.timeout(900)
async def test_an_mmc_day_waits_as_erlang_c_says() -> None:
    names = {"zh-CN": "现金", "en": "Cash", "zh-TW": "現金"}
    sc = scenarios.parse({
        "branch": {
            "id": "mmc", "names": names, "timezone": "UTC",
            "services": [{"code": "A", "names": names, "target_wait_s": 300, "target_service_s": 300}],
            "counters": [{"number": n, "services": ["A"]} for n in range(1, MMC_SERVERS + 1)],
        },
        "days": 3, "opening": "00:30", "closing": "22:30",
        "weekday_factor": {6: 1.0},
        "arrivals": {"A": dict.fromkeys(range(24), MMC_RATE)},
        "service_times": {"A": {"distribution": "exponential", "mean_s": MMC_AHT}},
        "green_share": 0, "no_show_share": 0, "transfer_share": 0, "walk_s": 0,
    })
    result = await simulate(sc, seed=11)
    theory = evaluate(MMC_RATE, 3600, MMC_AHT, MMC_SERVERS, 300)
    waited = result.report["total"]["wait_avg_s"]
    served = result.report["total"]["service_avg_s"]
    assert result.outcome.issued > 1500
    assert served == pytest.approx(MMC_AHT, rel=0.03)
    assert waited == pytest.approx(theory.asa_s, rel=0.15), (waited, theory.asa_s)
    assert result.sla_share == pytest.approx(theory.service_level, abs=0.03)


