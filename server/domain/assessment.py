"""Staff assessment for a period: a score and band per teller, with the figures behind it.

One pure function, :func:`assess`, turns what a teller did over a period
(:class:`TellerRecord`) into an :class:`Assessment` under the branch's
:class:`AssessmentRules`. Every part is a score from 0 to 100:

``attitude``
    The ratings and how often the customer was asked. The rating part is the mean
    score mapped onto 0–100 (1 → 0, 5 → 100). Coverage is the share of finished
    tickets where the evaluator was shown *and* answered, so that a teller who keeps
    the prompt from the customer shows: ``attitude = (1 - c) × rating + c × 100 ×
    coverage``, with ``c`` = ``coverage_weight``. Ratings given on the phone count
    in the mean but not in the coverage (the evaluator was not involved). With no
    ratings at all the part has no score.
``efficiency``
    Three figures, weighted by ``speed``, ``utilisation`` and ``idle`` (normalised):

    - speed: the time the mix served should have taken (Σ tickets × target service
      time of their service) ÷ the time it took (Σ service times), capped at 1, × 100.
      A teller who serves slow services is judged against their targets, not against
      a colleague at the cash desk;
    - utilisation: serving time ÷ time open, against ``target_utilisation``
      (reaching it scores 100);
    - idle with queue: minutes an open counter of theirs stood without a customer
      while one of its services had tickets waiting, beyond ``idle_grace_s`` per
      gap; each minute costs ``idle_penalty_per_min`` points.

    Figures with no data (nothing served, never open) are left out of the weighting.
``complaints``
    100 less ``complaint_penalty`` per upheld complaint (upheld or partly upheld,
    against the teller), never below 0.
``inspection``
    100 less ``finding_penalty`` per failed inspection item that names the teller.

The score is the weighted mean of the parts that have one (``weights``, renormalised
over those parts); the band is the first of ``bands`` (highest first) whose lower
bound the score reaches. :func:`idle_with_queue_s` is the interval arithmetic behind the
idle figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

PARTS = ("attitude", "efficiency", "complaints", "inspection")
EFFICIENCY_PARTS = ("speed", "utilisation", "idle")


@dataclass(frozen=True, slots=True)
class Band:
    name: str
    min_score: float


DEFAULT_BANDS = (Band("excellent", 90), Band("good", 75), Band("fair", 60), Band("poor", 0))


@dataclass(frozen=True, slots=True)
class AssessmentRules:
    """How a branch weighs its tellers (the branch document's ``assessment:`` section)."""

    weights: Mapping[str, float] = field(
        default_factory=lambda: {"attitude": 0.35, "efficiency": 0.35, "complaints": 0.2, "inspection": 0.1}
    )
    efficiency_weights: Mapping[str, float] = field(
        default_factory=lambda: {"speed": 0.5, "utilisation": 0.3, "idle": 0.2}
    )
    coverage_weight: float = 0.3
    target_utilisation: float = 0.75
    idle_grace_s: float = 60.0
    idle_penalty_per_min: float = 2.0
    complaint_penalty: float = 25.0
    finding_penalty: float = 20.0
    bands: Sequence[Band] = DEFAULT_BANDS


@dataclass(frozen=True, slots=True)
class ServiceMix:
    """What a teller served of one service: how many, in how long, against which target."""

    service: str
    served: int
    service_s: float
    """The sum of the service times of those tickets."""
    target_s: float
    """The service's target service time (per ticket)."""


@dataclass(frozen=True, slots=True)
class TellerRecord:
    """What one teller did over the period, as the store counts it."""

    staff_id: int
    username: str
    name: str = ""
    ratings: Mapping[int, int] = field(default_factory=dict)
    """Score (1–5) → how many ratings of that score, from any channel."""
    finished: int = 0
    """Tickets the teller finished (served)."""
    prompted: int = 0
    """Of those, how many the counter's evaluator showed the rating prompt for."""
    prompted_answered: int = 0
    """Of those shown, how many the customer rated."""
    mix: Sequence[ServiceMix] = ()
    open_s: float = 0.0
    serving_s: float = 0.0
    idle_queue_s: float = 0.0
    upheld_complaints: int = 0
    findings: int = 0


@dataclass(frozen=True, slots=True)
class Assessment:
    staff_id: int
    username: str
    name: str
    score: float | None
    band: str | None
    parts: dict[str, float | None]
    figures: dict[str, object]
    """Everything the parts were computed from, for the "why" a score opens onto."""


def _clamp(x: float) -> float:
    return max(0.0, min(100.0, x))


def _mean(values: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    known = {k: v for k, v in values.items() if v is not None and weights.get(k, 0) > 0}
    total = sum(weights[k] for k in known)
    if not total:
        return None
    return sum(weights[k] * v for k, v in known.items()) / total


def band_of(score: float | None, bands: Sequence[Band]) -> str | None:
    if score is None:
        return None
    for b in sorted(bands, key=lambda b: -b.min_score):
        if score >= b.min_score:
            return b.name
    return None


def mix_index(mix: Iterable[ServiceMix]) -> tuple[float, float]:
    """(time the mix should have taken, time it took), in seconds."""
    expected = actual = 0.0
    for m in mix:
        expected += m.served * m.target_s
        actual += m.service_s
    return expected, actual


def assess(record: TellerRecord, rules: AssessmentRules) -> Assessment:
    """The teller's parts, score and band, and the figures behind each."""
    rated = sum(record.ratings.values())
    score_sum = sum(s * n for s, n in record.ratings.items())
    rating_mean = score_sum / rated if rated else None
    coverage = record.prompted_answered / record.finished if record.finished else None
    shown_share = record.prompted / record.finished if record.finished else None
    answered_share = record.prompted_answered / record.prompted if record.prompted else None
    attitude: float | None = None
    if rating_mean is not None:
        rating_part = (rating_mean - 1) / 4 * 100
        c = rules.coverage_weight if coverage is not None else 0.0
        attitude = _clamp((1 - c) * rating_part + c * 100 * (coverage or 0.0))

    expected, actual = mix_index(record.mix)
    speed = _clamp(100 * min(1.0, expected / actual)) if actual > 0 else (100.0 if expected > 0 else None)
    utilisation = record.serving_s / record.open_s if record.open_s > 0 else None
    util_part = (
        _clamp(100 * utilisation / rules.target_utilisation) if utilisation is not None else None
    )
    idle_min = record.idle_queue_s / 60
    idle_part = _clamp(100 - rules.idle_penalty_per_min * idle_min) if record.open_s > 0 else None
    eff = {"speed": speed, "utilisation": util_part, "idle": idle_part}
    efficiency = _mean(eff, rules.efficiency_weights)

    complaints = _clamp(100 - rules.complaint_penalty * record.upheld_complaints)
    inspection = _clamp(100 - rules.finding_penalty * record.findings)
    parts: dict[str, float | None] = {
        "attitude": attitude, "efficiency": efficiency, "complaints": complaints, "inspection": inspection,
    }
    score = _mean(parts, rules.weights)
    figures: dict[str, object] = {
        "ratings": rated,
        "rating_mean": rating_mean,
        "distribution": {str(s): record.ratings.get(s, 0) for s in range(1, 6)},
        "finished": record.finished,
        "prompted": record.prompted,
        "prompted_answered": record.prompted_answered,
        "coverage": coverage,
        "shown_share": shown_share,
        "answered_share": answered_share,
        "mix": [
            {"service": m.service, "served": m.served, "service_avg_s": m.service_s / m.served if m.served else None,
             "target_s": m.target_s}
            for m in record.mix
        ],
        "expected_service_s": expected,
        "actual_service_s": actual,
        "service_vs_target": actual / expected if expected else None,
        "open_s": record.open_s,
        "serving_s": record.serving_s,
        "utilisation": utilisation,
        "idle_queue_min": idle_min,
        "efficiency_parts": eff,
        "upheld_complaints": record.upheld_complaints,
        "findings": record.findings,
    }
    shown = round(score, 2) if score is not None else None  # the band of the score as shown
    return Assessment(record.staff_id, record.username, record.name, shown, band_of(shown, rules.bands),
                      {k: (round(v, 2) if v is not None else None) for k, v in parts.items()}, figures)


# --- intervals ---------------------------------------------------------------------------------

Span = tuple[datetime, datetime]


def union(spans: Iterable[Span]) -> list[Span]:
    """The spans merged where they overlap or touch, in time order; empty ones dropped."""
    out: list[Span] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(spans: Iterable[Span], holes: Iterable[Span]) -> list[Span]:
    """What of ``spans`` lies outside every one of ``holes``."""
    gaps = union(holes)
    out: list[Span] = []
    for a, b in union(spans):
        cursor = a
        for h0, h1 in gaps:
            if h1 <= cursor or h0 >= b:
                continue
            if h0 > cursor:
                out.append((cursor, h0))
            cursor = max(cursor, h1)
        if cursor < b:
            out.append((cursor, b))
    return out


def overlap_s(spans: Iterable[Span], other: Iterable[Span]) -> float:
    """Seconds in both ``spans`` and ``other``."""
    xs, ys = union(spans), union(other)
    total, i, j = 0.0, 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if b > a:
            total += (b - a).total_seconds()
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return total


def idle_with_queue_s(open_spans: Iterable[Span], busy: Iterable[Span], waiting: Iterable[Span],
                      *, grace_s: float) -> float:
    """Seconds a counter stood open with no customer while tickets it serves waited.

    Each idle gap (open, not busy) loses its first ``grace_s`` seconds (the moment
    between one customer and the next); what is left counts where some ticket waited.
    """
    grace = timedelta(seconds=grace_s)
    idle = [(a + grace, b) for a, b in subtract(open_spans, busy) if b - a > grace]
    return overlap_s(idle, waiting)
