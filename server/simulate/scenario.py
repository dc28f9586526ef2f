"""What a simulated branch day looks like, as a bank would describe it (YAML, validated).

Example (every field but ``arrivals`` has a default)::

    branch: demo            # the demo branch's services and counters, or a whole branch spec
    days: 1                 # consecutive days from ``start`` (Sundays skipped)
    start: 2026-03-02
    opening: "09:00"        # customers arrive from opening to closing; counters then serve
    closing: "17:00"        # out the queue before they close
    arrivals:               # mean arrivals per hour, per service (a non-homogeneous Poisson process)
      A: {9: 30, 10: 55, 11: 60, 12: 35, 13: 35, 14: 50, 15: 45, 16: 30}
      B: {9: 15, 10: 25}
    service_times:          # log-normal with mean and spread (coefficient of variation)
      A: {mean_s: 240, spread: 0.5}
      default: {mean_s: 300, spread: 0.6}
    green_share: 0.08
    no_show_share: 0.04
    transfer_share: 0.03
    staffing:               # which counters are open when; ``services`` overrides the profile
      - {counter: 1, from: "09:00", to: "17:00"}
      - {counter: 3, from: "10:00", to: "16:00", services: [A, B]}

``arrivals: replay`` replays a past period's real arrivals and ``service_times: recent``
samples the branch's own service times; both read ``source`` (a database and branch).
"""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from server.domain.errors import InvalidInput
from server.services.branches import BranchSpec
from server.services.demo import DEMO_BRANCH

Share = Annotated[float, Field(ge=0, le=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogNormal(Strict):
    """Service time: log-normal with this mean and spread (standard deviation ÷ mean)."""

    distribution: Literal["lognormal"] = "lognormal"
    mean_s: Annotated[float, Field(gt=0, le=4 * 3600)]
    spread: Annotated[float, Field(ge=0, le=5)] = 0.5


class Exponential(Strict):
    """Service time: exponential with this mean (the M of M/M/c)."""

    distribution: Literal["exponential"]
    mean_s: Annotated[float, Field(gt=0, le=4 * 3600)]


ServiceTime = LogNormal | Exponential


class Shift(Strict):
    """A counter open from ``from`` to ``to`` (local times)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    counter: Annotated[int, Field(ge=1, le=9999)]
    begin: time = Field(alias="from")
    end: time = Field(alias="to")
    services: tuple[str, ...] | None = None
    """The counter's profile for the day (in order); None: as configured."""

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.end <= self.begin:
            raise ValueError(f"counter {self.counter}: 'to' must be after 'from'")
        return self


class Source(Strict):
    """Where replayed arrivals and recent service times come from."""

    database: str | None = None
    """SQLAlchemy URL; None: the database given on the command line."""
    branch: str
    first: date = Field(alias="from")
    last: date = Field(alias="to")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Scenario(Strict):
    """One or more branch days to simulate."""

    branch: Literal["demo"] | BranchSpec = "demo"
    days: Annotated[int, Field(ge=1, le=400)] = 1
    start: date = date(2026, 3, 2)
    opening: time = time(9, 0)
    closing: time = time(17, 0)
    arrivals: Literal["replay"] | dict[str, dict[int, Annotated[float, Field(ge=0, le=2000)]]]
    weekday_factor: dict[int, Annotated[float, Field(ge=0, le=10)]] = Field(default_factory=dict)
    """Weekday (0 = Monday) → factor on the arrival rates; a weekday missing is 1.0 (Sunday: closed)."""
    service_times: Literal["recent"] | dict[str, ServiceTime] = Field(default_factory=dict)
    green_share: Share = 0.08
    no_show_share: Share = 0.04
    transfer_share: Share = 0.0
    walk_s: Annotated[float, Field(ge=0, le=600)] = 20.0
    """Mean time from the call to the customer at the counter (service starts)."""
    no_show_after_s: Annotated[float, Field(ge=0, le=1800)] = 90.0
    """How long a teller waits for a called customer who does not come."""
    staffing: tuple[Shift, ...] = ()
    """Empty: every counter open from opening to closing."""
    source: Source | None = None

    @field_validator("arrivals")
    @classmethod
    def _hours(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for code, hours in v.items():
                bad = [h for h in hours if not 0 <= h <= 23]
                if bad:
                    raise ValueError(f"arrivals of {code}: hours are 0–23, not {bad}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.closing <= self.opening:
            raise ValueError("closing must be after opening")
        codes = {s.code for s in self.spec.services}
        numbers = {c.number for c in self.spec.counters}
        if isinstance(self.arrivals, dict):
            unknown = sorted(set(self.arrivals) - codes)
            if unknown:
                raise ValueError(f"arrivals name services the branch does not have: {', '.join(unknown)}")
        if isinstance(self.service_times, dict):
            unknown = sorted(set(self.service_times) - codes - {"default"})
            if unknown:
                raise ValueError(f"service_times name services the branch does not have: {', '.join(unknown)}")
        for shift in self.staffing:
            if shift.counter not in numbers:
                raise ValueError(f"staffing: the branch has no counter {shift.counter}")
            bad = sorted(set(shift.services or ()) - codes)
            if bad:
                raise ValueError(f"staffing: counter {shift.counter} is given unknown services {', '.join(bad)}")
        profiles: dict[int, tuple[str, ...] | None] = {}
        for shift in self.staffing:
            if profiles.setdefault(shift.counter, shift.services) != shift.services:
                raise ValueError(f"staffing: counter {shift.counter} has one profile for the whole day")
        if (self.arrivals == "replay" or self.service_times == "recent") and self.source is None:
            raise ValueError("arrivals: replay and service_times: recent need a source (database, branch, from, to)")
        return self

    @property
    def spec(self) -> BranchSpec:
        """The branch simulated, with the plan's profiles applied."""
        base = DEMO_BRANCH if self.branch == "demo" else self.branch
        return base

    def shifts(self) -> tuple[Shift, ...]:
        if self.staffing:
            return self.staffing
        return tuple(Shift(counter=c.number, begin=self.opening, end=self.closing) for c in self.spec.counters)

    def business_days(self) -> list[date]:
        """The simulated days: ``days`` open days from ``start`` (a weekday factor of 0 closes the day,
        and Sunday is closed unless it has a factor)."""
        out: list[date] = []
        day = self.start
        while len(out) < self.days:
            factor = self.weekday_factor.get(day.weekday(), 0.0 if day.weekday() == 6 else 1.0)
            if factor > 0:
                out.append(day)
            day += timedelta(days=1)
        return out

    def factor(self, day: date) -> float:
        return self.weekday_factor.get(day.weekday(), 0.0 if day.weekday() == 6 else 1.0)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; every problem in one clear message.

    Raises:
        InvalidInput: unreadable, not YAML, or not a valid scenario.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path} is not valid YAML: {e}") from None
    return parse(data, str(path))


def parse(data: Any, where: str = "scenario") -> Scenario:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: a scenario is a mapping (branch, arrivals, staffing, …)")
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'scenario'}: {err['msg'].removeprefix('Value error, ')}"
            for err in e.errors()
        )
        raise InvalidInput(f"{where} is not a valid scenario: {problems}") from None


#: A busy day at the demo branch: about 800 customers, six counters all day.
BUSY_DAY: dict[str, Any] = {
    "branch": "demo",
    "arrivals": {
        "A": {9: 45, 10: 75, 11: 80, 12: 50, 13: 50, 14: 75, 15: 70, 16: 55},
        "B": {9: 20, 10: 32, 11: 35, 12: 22, 13: 22, 14: 32, 15: 30, 16: 24},
        "C": {9: 8, 10: 14, 11: 15, 12: 9, 13: 9, 14: 14, 15: 13, 16: 10},
        "D": {9: 3, 10: 5, 11: 6, 12: 4, 13: 4, 14: 5, 15: 5, 16: 4},
        "E": {9: 3, 10: 5, 11: 5, 12: 3, 13: 3, 14: 5, 15: 5, 16: 4},
    },
    "service_times": {
        "A": {"mean_s": 100, "spread": 0.6},
        "B": {"mean_s": 150, "spread": 0.6},
        "C": {"mean_s": 300, "spread": 0.6},
        "D": {"mean_s": 480, "spread": 0.6},
        "E": {"mean_s": 420, "spread": 0.6},
    },
    "green_share": 0.08,
    "no_show_share": 0.04,
    "transfer_share": 0.03,
}
