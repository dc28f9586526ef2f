"""Rate limits at the edge: issuance per kiosk, public endpoints per address; staff never.

The rules are written and parsed as the ``limits`` library does (``"30/minute;600/hour"``).
The counting is a sliding-window counter kept on the event loop's thread: the
library's in-memory storage guards every key with a thread lock and expires entries
from a timer thread started every 10 ms, and under load the loop was measured
stalling on that lock while the timer thread waited for the GIL (about an eighth of
the server's time at 300 issues/s). Here a hit is a few dict operations, with no
locks and no threads. Each process keeps its own counts, which with several
processes behind nginx only makes the limits looser (never stricter) than configured.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web
from limits import RateLimitItem, parse_many

from server.domain.errors import RateLimited
from server.services.context import Actor
from server.settings import Settings

PRUNE_EVERY = 10_000


class SlidingCounters:
    """Sliding-window counters: the previous window's count, weighted by how much of it
    still lies inside the sliding window, plus the current window's count.

    Windows are aligned to multiples of the rule's period. A client refused does not
    count against itself, so it gets in again as soon as the weighted count allows.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple[float, int, str], tuple[float, int, int]] = {}
        """(period, amount, key) → (start of the current window, previous count, current count)."""
        self._hits = 0

    def hit(self, rule: RateLimitItem, key: str) -> bool:
        """Count one request of ``key`` under ``rule``; False (and not counted) when over it."""
        period = float(rule.get_expiry())
        now = self._clock()
        start = now - now % period
        slot = (period, rule.amount, key)
        began, previous, current = self._windows.get(slot, (start, 0, 0))
        if start - began >= 2 * period:
            previous, current = 0, 0
        elif start > began:
            previous, current = current, 0
        weighted = previous * (period - (now - start)) / period + current
        if weighted + 1 > rule.amount:
            self._windows[slot] = (start, previous, current)
            return False
        self._windows[slot] = (start, previous, current + 1)
        self._hits += 1
        if self._hits % PRUNE_EVERY == 0:
            self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        """Forget keys idle for two periods (they would count as zero anyway)."""
        self._windows = {
            slot: window for slot, window in self._windows.items() if now - window[0] < 2 * slot[0]
        }


class Limiter:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._counters = SlidingCounters(clock)
        self._rules = {
            "issue": parse_many(settings.issue_rate_limit),
            "public": parse_many(settings.public_rate_limit),
        }

    def check(self, kind: str, request: web.Request, actor: Actor) -> None:
        """Raise RateLimited when ``actor`` is over the ``kind`` limits (staff never are)."""
        if actor.is_staff or kind not in self._rules:
            return
        key = f"{kind}:device:{actor.id}" if actor.kind == "device" else f"{kind}:addr:{request.remote}"
        for rule in self._rules[kind]:
            if not self._counters.hit(rule, key):
                raise RateLimited(
                    f"too many requests ({rule}); please wait a moment and try again",
                )


LIMITER = web.AppKey("limiter", Limiter)


def client_address(request: web.Request) -> str:
    """The address of the client behind the request."""
    return request.remote or ""
