"""create_app(): the one place that wires settings, database, services and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from server.clock import Clock, system_clock
from server.services.auth import actor_now
from server.services.context import Services
from server.services.counters import pause_abandoned
from server.services.days import roll_over_all
from server.services.retention import erase_expired
from server.settings import Settings
from server.store.engine import open_database

from .bus.fanout import Fanout
from .bus.pg import PgListener
from .notify.worker import Policy, Worker, backends_of
from .store import repository as repo
from .store.vault import Vault
from .web.api import SERVICES, setup_routes
from .web.auth import PUBLIC_ORIGIN, TRUSTED_ORIGINS, secret_key, setup_auth
from .web.errors import error_middleware, security_headers
from .web.hub import Hub
from .web.limits import LIMITER, TRUSTED_PROXIES, Limiter, trusted_networks
from .web.openapi import openapi
from .web.pages import setup_pages
from .web.routes import PUBLIC_URL
from .web.supervision_routes import PHOTO_DIR, PHOTO_MAX_BYTES
from .web.ws import FANOUT, HUB, ws_handler

log = logging.getLogger(__name__)

NOTIFIER = web.AppKey("notifier", Worker)
"""The process's notification worker (tests drive its rounds by hand)."""

DAY_CHECK_S = 30.0
SWEEP_S = 60.0
ABANDONED_CHECK_S = 30.0
RETENTION_FIRST_S = 300.0
"""The first retention run waits for the server to settle after a (re)start."""
RETENTION_EVERY_S = 86400.0
BREACH_CHECK_S = 30.0
"""How often the service standards are evaluated (breaches raised, cleared, escalated)."""
OVERDUE_CHECK_S = 300.0
"""How often rectifications past their deadline are looked for and escalated."""


def vault_of(settings: Settings) -> Vault:
    """The contact vault of ``settings``: BRANCHQ_DATA_KEYS, else a key derived from the secret key."""
    return Vault.from_secret(secret_key(settings), settings.data_keys, settings.contact_hash_key)


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Build the aiohttp application for ``settings``; the database opens on startup."""
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[security_headers, error_middleware]
    )
    app[TRUSTED_ORIGINS] = tuple(settings.trusted_origins)
    if settings.public_url:
        app[PUBLIC_URL] = settings.public_url
        parts = urlsplit(settings.public_url)
        app[PUBLIC_ORIGIN] = f"{parts.scheme}://{parts.netloc}"
    app[LIMITER] = Limiter(settings)
    app[TRUSTED_PROXIES] = trusted_networks(settings.trusted_proxies)
    app[PHOTO_DIR] = Path(settings.photo_dir)
    app[PHOTO_MAX_BYTES] = settings.photo_max_bytes
    setup_auth(app, settings)
    setup_routes(app)
    app.router.add_get("/api/v1/openapi.json", _openapi)
    app.router.add_get("/", _index)

    app.router.add_get("/ws", ws_handler)
    setup_pages(app)
    app[HUB] = hub = Hub()

    async def database(app: web.Application) -> AsyncIterator[None]:
        db = open_database(settings.database, pool_size=settings.pool_size)
        services = Services(db, clock or system_clock, demo=settings.demo, vault=vault_of(settings))
        app[SERVICES] = services
        backends = backends_of(settings)
        services.notify_channels = frozenset(backends)
        worker = Worker(db, services.vault, backends, policy=Policy.of(settings), clock=services.clock,
                        poll_s=settings.notify_poll_s)
        app[NOTIFIER] = worker
        services.outbox_listeners.append(worker.wake)
        worker.start()
        app[LIMITER].branch_limits = lambda b: row.limits if (row := services.last_branch_row(b)) else None

        async def load(branch_id: str, after: int, up_to: int) -> list[dict]:
            async with db.read() as conn:
                return await repo.events_between(conn, branch_id, after, up_to)

        async def current_seqs(branch_ids: list[str]) -> dict[str, int]:
            async with db.read() as conn:
                return await repo.event_seqs(conn, branch_ids)

        fanout = Fanout(load)
        fanout.sinks.append(hub.sink)
        app[FANOUT] = fanout
        services.subscribers.append(fanout.offer)
        services.access_listeners.append(hub.end_access)

        async def revalidate() -> None:
            await hub.revalidate(lambda credential: actor_now(services, credential))

        listener = None
        if db.dialect == "postgresql":
            listener = PgListener(settings.database, fanout, current_seqs,
                                  on_access=hub.end_access, on_reconnect=revalidate)
            listener.start()
        yield
        await worker.stop()
        if listener is not None:
            try:
                await asyncio.wait_for(listener.stop(), timeout=SHUTDOWN_WAIT_S)
            except TimeoutError:
                log.warning("the event listener did not stop within %s s", SHUTDOWN_WAIT_S)
        await db.dispose()

    async def day_watch(app: web.Application) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(_watch_days(app[SERVICES])),
            asyncio.create_task(_sweep_sockets(app[SERVICES], hub)),
            asyncio.create_task(_sweep_notices(app[SERVICES], settings.notice_check_s)),
            asyncio.create_task(_watch_counters(app[SERVICES], settings.abandoned_after_s)),
            asyncio.create_task(_retention_daily(app[SERVICES], settings.retention_days)),
            asyncio.create_task(_watch_standards(app[SERVICES], settings.standards_every_s)),
            asyncio.create_task(_complaints_periodic(app[SERVICES], settings.complaint_retention_days)),
        ]
        yield
        for task in tasks:
            task.cancel()
        # Bounded: a task stuck in a statement of a database gone away must not hold the shutdown.
        _, stuck = await asyncio.wait(tasks, timeout=SHUTDOWN_WAIT_S)
        for task in stuck:
            log.warning("a periodic task did not stop within %s s: %s", SHUTDOWN_WAIT_S, task.get_coro())

    app.cleanup_ctx.extend([database, day_watch])
    app.on_shutdown.append(_close_sockets)
    return app


async def _close_sockets(app: web.Application) -> None:
    """Every client gets 1001 (going away) and reconnects to wherever the server comes back."""
    await app[HUB].close_all()


async def _watch_days(services: Services) -> None:
    """Expire yesterday's tickets soon after midnight even if nobody writes."""
    while True:
        try:
            await roll_over_all(services)
        except Exception:  # keep watching; the next write rolls over anyway
            log.exception("day roll-over failed")
        await asyncio.sleep(DAY_CHECK_S)


async def _sweep_sockets(services: Services, hub: Hub) -> None:
    """Every socket's credential checked again now and then: a belt to the access notices."""
    while True:
        await asyncio.sleep(SWEEP_S)
        try:
            await hub.revalidate(lambda credential: actor_now(services, credential))
        except Exception:
            log.exception("socket sweep failed")


async def _sweep_notices(services: Services, every_s: float) -> None:
    """Notices past their end time taken down, and every screen told (``notice.cleared``).

    Every process runs this; each notice is still cleared and announced once (see
    :func:`server.services.notices.clear_expired`).
    """
    from server.services.notices import clear_expired

    while True:
        await asyncio.sleep(every_s)
        try:
            for branch_id, notice_id in await clear_expired(services):
                log.info("notice %s of %s taken down: its time is over", notice_id, branch_id)
        except Exception:  # try again at the next check
            log.exception("notice expiry sweep failed")


async def _watch_counters(services: Services, after_s: float) -> None:
    """Pause counters whose teller is gone (closed the browser, lost the network) for ``after_s``."""
    while True:
        await asyncio.sleep(ABANDONED_CHECK_S)
        try:
            for branch_id, number in await pause_abandoned(services, after_s=after_s):
                log.info("counter %s of %s paused: its teller has not been seen for %s s", number, branch_id, after_s)
        except Exception:  # try again at the next check
            log.exception("abandoned-counter check failed")


async def _retention_daily(services: Services, days: int) -> None:
    """Erase what retention says, once a day (incremental: a day's records each time)."""
    await asyncio.sleep(RETENTION_FIRST_S)
    while True:
        try:
            erased = await erase_expired(services, days=days)
            if erased.total:
                log.info("retention: erased %s from records before %s", erased, erased.before.isoformat())
        except Exception:  # try again tomorrow; `branchq retention run` does the same by hand
            log.exception("retention run failed")
        await asyncio.sleep(RETENTION_EVERY_S)


async def _watch_standards(services: Services, every_s: float = BREACH_CHECK_S) -> None:
    """Evaluate every branch's service standards, and escalate overdue rectifications, now and then.

    Every process runs this; a breach is still one record (see server/services/standards.py).
    """
    from server.services.inspections import escalate_overdue
    from server.services.standards import evaluate_all

    since_overdue = OVERDUE_CHECK_S
    while True:
        await asyncio.sleep(every_s)
        try:
            await evaluate_all(services)
            since_overdue += every_s
            if since_overdue >= OVERDUE_CHECK_S:
                since_overdue = 0.0
                await escalate_overdue(services)
        except Exception:  # try again at the next check
            log.exception("service-standard evaluation failed")
COMPLAINT_CHECK_S = 600.0
SHUTDOWN_WAIT_S = 10.0


async def _complaints_periodic(services: Services, retention_days: int) -> None:
    """Escalate overdue complaint cases every few minutes; erase expired contacts once a day."""
    from server.services.complaints import erase_contacts, escalate_overdue

    checks = 0
    while True:
        await asyncio.sleep(COMPLAINT_CHECK_S)
        try:
            escalated = await escalate_overdue(services)
            if escalated:
                log.info("complaints escalated as overdue: %s", ", ".join(escalated))
            if checks % int(RETENTION_EVERY_S // COMPLAINT_CHECK_S) == 0:
                await erase_contacts(services, days=retention_days)
        except Exception:  # try again at the next check
            log.exception("complaint deadline check failed")
        checks += 1


async def _openapi(_request: web.Request) -> web.Response:
    return web.json_response(openapi())


INDEX = """<!doctype html><meta charset="utf-8"><title>branchq</title>
<h1>branchq</h1>
<h2>员工 Staff</h2>
<ul>
<li><a href="/counter">柜员 Teller</a> (/counter)</li>
<li><a href="/admin">管理 Administration</a> (/admin)</li>
<li>实时看板 Live dashboard: /manage/B, 报表 Reports: /manage/B/reports</li>
</ul>
<h2>设备 Devices</h2>
<p>Open on the device with its token or its one-time enrollment code
(<code>?token=…</code> or <code>?code=…</code>; without either, the page asks for the code).
<code>B</code> is the branch id, <code>N</code> a counter number.</p>
<ul>
<li>取号机 Kiosk: /kiosk/B</li>
<li>叫号屏 Waiting-area board: /display/B</li>
<li>窗口屏 Counter-top screen: /display/B/counter/N</li>
<li>评价器 Evaluator: /evaluator/B/N</li>
</ul>
<h2>API</h2>
<ul>
<li><a href="/api/v1/health">/api/v1/health</a></li>
<li><a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (the HTTP API)</li>
</ul>
"""


async def _index(_request: web.Request) -> web.Response:
    return web.Response(text=INDEX, content_type="text/html")
