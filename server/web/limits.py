"""Rate limits at the edge: issuance per kiosk, public endpoints per address; staff never.

Sliding-window counters from the ``limits`` library (constant work per request,
unlike moving windows, which keep one timestamp per request in the window), kept
in process memory: with several processes behind nginx each holds its own count,
which only makes the limits looser (never stricter) than configured.
"""

from __future__ import annotations

from aiohttp import web
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from server.domain.errors import RateLimited
from server.services.context import Actor
from server.settings import Settings


class Limiter:
    def __init__(self, settings: Settings) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._rules = {
            "issue": parse_many(settings.issue_rate_limit),
            "public": parse_many(settings.public_rate_limit),
        }

    def check(self, kind: str, request: web.Request, actor: Actor) -> None:
        """Raise RateLimited when ``actor`` is over the ``kind`` limits (staff never are)."""
        if actor.is_staff or kind not in self._rules:
            return
        key = f"device:{actor.id}" if actor.kind == "device" else f"addr:{request.remote}"
        for rule in self._rules[kind]:
            if not self._limiter.hit(rule, kind, key):
                raise RateLimited(
                    f"too many requests ({rule}); please wait a moment and try again",
                )


LIMITER = web.AppKey("limiter", Limiter)
