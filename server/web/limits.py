"""Rate limits at the edge: issuance per kiosk, public endpoints per address; staff never.

The address is the client's own (:func:`client_address`): behind a trusted proxy
(``BRANCHQ_TRUSTED_PROXIES``) the one it forwarded, else the peer's, so that behind
nginx every customer has a count of their own instead of all sharing the proxy's.

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

import functools
import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping

from aiohttp import web
from limits import RateLimitItem, parse_many

from server.domain.errors import RateLimited
from server.services.context import Actor
from server.settings import Settings

PRUNE_EVERY = 10_000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple)
"""The networks of the proxies whose ``X-Forwarded-For`` is believed (empty: none)."""


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDR ranges (``10.0.0.5``, ``10.0.0.0/8``, ``::1``) as networks.

    Raises:
        ValueError: an entry is neither.
    """
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _address(text: str) -> IPAddress | None:
    """An address as a proxy writes it (``[v6]`` too), IPv4-mapped IPv6 as IPv4; None if it is none."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def forwarded_client(peer: str, forwarded_for: Iterable[str], proxies: tuple[Network, ...]) -> str:
    """The client's address from the peer's and the ``X-Forwarded-For`` headers' values.

    Only a trusted proxy's word counts: when the peer is one, the hops are read from the
    right (each proxy appends the address it was reached from) and the first one that is
    not a trusted proxy is the client. Anything to its left was written by the client
    and may be made up. A hop that is not an address ends the walk at the last trusted
    proxy, so a forged header never yields a key of the sender's choosing. With no
    trusted proxy, or a peer that is not one, the peer's address.
    """
    current = _address(peer)
    if current is None or not proxies or not _trusted(current, proxies):
        return str(current) if current is not None else peer
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return str(current)
        current = address
        if not _trusted(address, proxies):
            return str(address)
    return str(current)


def client_address(request: web.Request) -> str:
    """The real client's address: the right-most untrusted ``X-Forwarded-For`` hop when
    the peer is a trusted proxy (``BRANCHQ_TRUSTED_PROXIES``), else the peer's address."""
    proxies: tuple[Network, ...] = request.app.get(TRUSTED_PROXIES, ())
    return forwarded_client(request.remote or "", request.headers.getall("X-Forwarded-For", ()), proxies)


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

    def full(self, rule: RateLimitItem, key: str) -> bool:
        """Whether one more hit of ``key`` would be over ``rule`` (nothing is counted)."""
        period = float(rule.get_expiry())
        now = self._clock()
        start = now - now % period
        began, previous, current = self._windows.get((period, rule.amount, key), (start, 0, 0))
        if start - began >= 2 * period:
            previous, current = 0, 0
        elif start > began:
            previous, current = current, 0
        return previous * (period - (now - start)) / period + current + 1 > rule.amount

    def _prune(self, now: float) -> None:
        """Forget keys idle for two periods (they would count as zero anyway)."""
        self._windows = {
            slot: window for slot, window in self._windows.items() if now - window[0] < 2 * slot[0]
        }


@functools.lru_cache(maxsize=1024)
def _parsed(rules: str) -> tuple[RateLimitItem, ...] | None:
    try:
        return tuple(parse_many(rules)) or None
    except ValueError:  # checked when the branch was configured; the server's rules then
        return None


#: The kind of limit each branch may set for itself (``BranchSpec.limits``), by the limit class.
BRANCH_LIMITS = {"issue": "kiosk_issue"}


class Limiter:
    """The server's limits (``BRANCHQ_ISSUE_RATE_LIMIT``, ``BRANCHQ_PUBLIC_RATE_LIMIT``), and a
    branch's own limit on issuing per kiosk where it sets one."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self._counters = SlidingCounters(clock)
        self._rules = {
            "issue": tuple(parse_many(settings.issue_rate_limit)),
            "public": tuple(parse_many(settings.public_rate_limit)),
            "complaint": tuple(parse_many(settings.complaint_rate_limit)),
            "complaint_guess": tuple(parse_many(settings.complaint_guess_limit)),
            "notify": tuple(parse_many(settings.notify_rate_limit)),
            "booking": tuple(parse_many(settings.booking_rate_limit)),
        }
        self.branch_limits: Callable[[str], Mapping[str, str] | None] = lambda _branch: None
        """A branch's own limits as this process last read its row (set by ``create_app``):
        a changed limit counts from the branch's next unit of work here."""

    def rules(self, kind: str, branch_id: str | None) -> tuple[RateLimitItem, ...]:
        """The rules of ``kind`` on ``branch_id``: the branch's own, else the server's."""
        own_key = BRANCH_LIMITS.get(kind)
        if own_key is not None and branch_id:
            own = (self.branch_limits(branch_id) or {}).get(own_key)
            parsed = _parsed(own) if isinstance(own, str) else None
            if parsed:
                return parsed
        return self._rules[kind]

    def over(self, kind: str, request: web.Request) -> bool:
        """Whether the client's address is already over the ``kind`` limits (nothing is counted)."""
        key = f"{kind}:addr:{client_address(request)}"
        return any(self._counters.full(rule, key) for rule in self._rules[kind])

    def count(self, kind: str, request: web.Request) -> None:
        """Count one against the client's address under the ``kind`` limits (e.g. a miss)."""
        key = f"{kind}:addr:{client_address(request)}"
        for rule in self._rules[kind]:
            self._counters.hit(rule, key)

    def check(self, kind: str, request: web.Request, actor: Actor) -> None:
        """Raise RateLimited when ``actor`` is over the ``kind`` limits (staff never are)."""
        if actor.is_staff or kind not in self._rules:
            return
        key = f"{kind}:device:{actor.id}" if actor.kind == "device" else f"{kind}:addr:{client_address(request)}"
        branch_id = request.match_info.get("branch") or actor.branch_id
        for rule in self.rules(kind, branch_id):
            if not self._counters.hit(rule, key):
                raise RateLimited(
                    f"too many requests ({rule}); please wait a moment and try again",
                )


LIMITER = web.AppKey("limiter", Limiter)
