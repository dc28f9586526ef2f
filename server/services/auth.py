"""Who is asking: staff passwords (argon2), device tokens (stored hashed), accounts."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.domain import throttle
from server.domain.access import Action, require
from server.domain.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthenticated
from server.protocol import StaffAnswer
from server.store import accounts, sessions
from server.store import repository as repo

from . import demo
from .context import STAFF_ROLES, Actor, BranchTx, Services, UnitOfWork
from .counters import SIGNED_OUT, leave_counters

DEVICE_KINDS = ("kiosk", "display", "evaluator")
SEEN_EVERY = timedelta(minutes=1)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("not a password")

T = TypeVar("T")


class HashingPool:
    """Argon2 on its own small pool, with a bounded queue in front of it.

    Argon2 is slow on purpose; on the default executor forty guessers at once would
    take every core from the event loop. One thread hashes; at most ``max_waiting``
    sign-ins wait for it, and the next is refused at once with 429 ``busy`` rather
    than queued behind an attack.
    """

    def __init__(self, workers: int = 1, max_waiting: int = 16) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._max_waiting = max_waiting
        self._waiting = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._waiting >= self._max_waiting:
            raise RateLimited("too many sign-ins at this moment; try again shortly", code="busy", retry_after=2)
        self._waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self._waiting -= 1


HASHING = HashingPool()


async def hash_password(password: str) -> str:
    """Argon2 is slow on purpose: off the event loop, on the hashing pool."""
    return await HASHING.run(lambda: _hasher.hash(password))


async def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await HASHING.run(check)


def token_hash(token: str) -> str:
    """Device tokens are long and random, so a fast hash suffices and stays indexable."""
    return hashlib.sha256(token.encode()).hexdigest()


def _staff_actor(row: Any) -> Actor:
    return Actor(
        "staff",
        row.id,
        row.role,
        row.branch_id,
        tuple(row.counters or ()),
        row.username,
        tuple(row.branches or ()),
    )


def staff_answer(actor: Actor) -> StaffAnswer:
    return StaffAnswer(
        id=actor.id,
        username=actor.name,
        display_name=actor.name,
        role=actor.role,
        branch=actor.branch_id,
        counters=list(actor.counters),
    )


@dataclass(frozen=True)
class SignedIn:
    """A new session: the actor, and the secret its cookie carries (only its hash is stored)."""

    actor: Actor
    secret: str


def session_id(secret: str) -> str:
    """The stored id of the session whose cookie carries ``secret``."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _throttle_keys(username: str, address: str) -> dict[str, throttle.Rule]:
    return {f"user:{username}": throttle.ACCOUNT, f"addr:{address}": throttle.ADDRESS}


async def login(
    app: Services, username: str, password: str, *, address: str = "", user_agent: str = "",
    max_age_s: int = 12 * 3600,
) -> SignedIn:
    """Check a staff member's password and open a session.

    The account and the address each have a count of failures (:mod:`server.domain.throttle`):
    while either is locked the password is not even checked.

    Raises:
        Unauthenticated: unknown user, wrong password or disabled account (one message for all).
        RateLimited: ``locked`` (too many failures; ``retry_after`` says for how long) or
            ``busy`` (too many sign-ins waiting for the hashing pool).
    """
    keys = _throttle_keys(username, address)
    now = app.clock()
    async with app.db.read() as conn:
        counts = await sessions.throttles(conn, list(keys))
        row = await repo.staff_by_username(conn, username)
    waits = [w for k in keys if k in counts and (w := throttle.retry_after(counts[k].locked_until, now))]
    if waits:
        raise RateLimited(
            f"too many failed sign-ins: try again in {max(waits)} s, or ask a manager to lift the lock",
            code="locked", retry_after=max(waits),
        )
    ok = await _verify(row.password_hash if row else _DUMMY_HASH, password)
    if not app.demo and demo.is_demo_password(password):  # published: only in demo mode
        ok = False
    if not ok or row is None or not row.active:
        await _count_failure(app, keys, username, address)
        raise Unauthenticated("wrong username or password", code="bad_credentials")
    secret = secrets.token_urlsafe(32)
    async with app.unit_of_work(None) as uow:
        await sessions.clear_throttle(uow.conn, f"user:{username}")
        await sessions.insert_session(uow.conn, {
            "id": session_id(secret), "staff_id": row.id, "created_at": uow.now, "last_seen_at": uow.now,
            "expires_at": uow.now + timedelta(seconds=max_age_s), "address": address[:64],
            "user_agent": user_agent[:200],
        })
    return SignedIn(_staff_actor(row), secret)


async def _count_failure(app: Services, keys: dict[str, throttle.Rule], username: str, address: str) -> None:
    """One more failure on each key; a key that becomes locked is written to the audit log."""
    async with app.unit_of_work(None) as uow:
        for key, rule in keys.items():
            row = await sessions.throttle_for_update(uow.conn, key, uow.now)
            was_locked = throttle.retry_after(row.locked_until, uow.now) is not None
            failures, locked_until = rule.after_failure(row.failures, row.last_failure_at, uow.now)
            await sessions.save_throttle(uow.conn, key, failures=failures, at=uow.now, locked_until=locked_until)
            if locked_until is not None and not was_locked:
                staff = await repo.staff_by_username(uow.conn, username)
                await uow.audit(
                    None, "auth.locked", key[:100], {"failures": failures - 1},
                    {"failures": failures, "locked_until": locked_until.isoformat(), "address": address},
                    branch_id=staff.branch_id if staff is not None else None,
                )


async def lift_lock(app: Services, actor: Actor, staff_id: int, branch_id: str) -> dict[str, Any]:
    """A manager of the account's branch (or an admin) lifts an account's sign-in lock."""
    require(actor, Action.MANAGE_BRANCH, branch_id)
    async with app.db.read() as conn:
        row = await repo.staff_by_id(conn, staff_id)
    if row is None or row.branch_id != branch_id:
        raise NotFound(f"no staff member {staff_id} in branch {branch_id!r}")
    async with app.unit_of_work(None) as uow:
        lifted = await sessions.clear_throttle(uow.conn, f"user:{row.username}")
        if lifted:
            await uow.audit(actor, "auth.unlock", f"staff {row.username}", None, None, branch_id=row.branch_id)
    return {"lifted": lifted}


async def staff_actor(app: Services, staff_id: int) -> Actor | None:
    """The staff member ``staff_id`` as an actor, or None once disabled or removed."""
    async with app.db.read() as conn:
        row = await repo.staff_by_id(conn, staff_id)
    if row is None or not row.active:
        return None
    return _staff_actor(row)


async def session_actor(app: Services, secret: str) -> Actor | None:
    """The staff member signed in with ``secret``, or None once the session ended or
    expired or the account was disabled or removed. "Last seen" is written at most once a minute."""
    return await actor_of_session(app, session_id(secret))


async def actor_of_session(app: Services, sid: str) -> Actor | None:
    async with app.db.read() as conn:
        row = await sessions.session_with_staff(conn, sid)
    now = app.clock()
    if row is None or row.ended_at is not None or row.expires_at <= now or not row.active:
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        async with app.unit_of_work(None) as uow:
            await sessions.touch_session(uow.conn, sid, now)
    return _staff_actor(row)


async def actor_now(app: Services, credential: tuple[str, str]) -> Actor | None:
    """The actor behind an open socket as it is now: (``session``, id) or (``device``, token hash)."""
    kind, key = credential
    if kind == "session":
        return await actor_of_session(app, key)
    async with app.db.read() as conn:
        row = await repo.device_by_token_hash(conn, key)
    if row is None or row.revoked:
        return None
    return device_as_actor(row)


async def logout(app: Services, secret: str) -> None:
    """End the session ``secret`` stands for (its sockets close on every process).

    When it was the account's last session in force, the counters it holds in its branch
    are left in the same unit of work (:func:`server.services.counters.leave_counters`):
    paused with code ``system``, a called customer back at the head of the queue.
    """
    sid = session_id(secret)
    async with app.db.read() as conn:
        found = await sessions.session_with_staff(conn, sid)
    branch_id = found.branch_id if found is not None else None
    async with app.unit_of_work(branch_id) as uow:
        row = await sessions.session_with_staff(uow.conn, sid)
        if row is not None:
            await sessions.end_sessions(uow.conn, staff_id=row.id, at=uow.now, why="signed out", only=sid)
            uow.end_access(f"session:{sid}")
            if uow.branch is not None and not await sessions.sessions_of(uow.conn, row.id, uow.now):
                # On the account's branch: the unit of work has its row and configuration loaded.
                await leave_counters(cast(BranchTx, uow), _staff_actor(row), SIGNED_OUT)


async def my_sessions(app: Services, actor: Actor, current_secret: str | None) -> list[dict[str, Any]]:
    """The signed-in staff member's sessions in force, the current one marked."""
    staff_id = _signed_in(actor)
    current = session_id(current_secret) if current_secret else None
    async with app.db.read() as conn:
        rows = await sessions.sessions_of(conn, staff_id, app.clock())
    return [
        {
            "id": r.id[:16], "current": r.id == current, "created_at": r.created_at.isoformat(),
            "last_seen_at": r.last_seen_at.isoformat(), "expires_at": r.expires_at.isoformat(),
            "address": r.address, "user_agent": r.user_agent,
        }
        for r in rows
    ]


async def end_my_sessions(app: Services, actor: Actor, current_secret: str | None, which: str | None) -> dict[str, Any]:
    """End one of one's own sessions (``which``: the first 16 characters of its id, as listed)
    or, with ``which`` None, every one but the current."""
    staff_id = _signed_in(actor)
    current = session_id(current_secret) if current_secret else None
    async with app.unit_of_work(None) as uow:
        rows = await sessions.sessions_of(uow.conn, staff_id, uow.now)
        if which is None:
            targets = [r.id for r in rows if r.id != current]
        else:
            targets = [r.id for r in rows if r.id[:16] == which]
            if not targets:
                raise NotFound("no such session of yours (it may have ended already)")
        for sid in targets:
            await sessions.end_sessions(uow.conn, staff_id=staff_id, at=uow.now, why="ended by its owner", only=sid)
            uow.end_access(f"session:{sid}")
    return {"ended": len(targets)}


def _signed_in(actor: Actor) -> int:
    require(actor, Action.STAFF_SELF)
    if not actor.is_staff or actor.id is None:
        raise Unauthenticated("sign in first")
    return actor.id


async def end_staff_access(uow: UnitOfWork, staff_id: int, why: str, *, sessions_too: bool) -> None:
    """An account changed: its open sockets close on every process after commit, and with
    ``sessions_too`` (disabled, role or branch changed, password reset) every session of it ends."""
    if sessions_too:
        await sessions.end_sessions(uow.conn, staff_id=staff_id, at=uow.now, why=why)
    uow.end_access(f"staff:{staff_id}")


async def device_actor(app: Services, token: str) -> Actor:
    """The device holding ``token``.

    Raises:
        Unauthenticated: unknown or revoked token.
    """
    if not (token.isascii() and token.isprintable()) or len(token) > 200:
        raise Unauthenticated("unknown or revoked device token", code="bad_token")
    if not app.demo and demo.is_demo_token(token):  # published: only in demo mode
        raise Unauthenticated("unknown or revoked device token", code="bad_token")
    async with app.db.read() as conn:
        row = await repo.device_by_token_hash(conn, token_hash(token))
    if row is None or row.revoked:
        raise Unauthenticated("unknown or revoked device token", code="bad_token")
    now = app.clock()
    if row.last_seen_at is None or now - row.last_seen_at > SEEN_EVERY:
        # "Last seen" for the admin pages, written at most once a minute per device.
        async with app.unit_of_work(None) as uow:
            await accounts.mark_device_seen(uow.conn, row.id, now)
    return device_as_actor(row)


def device_as_actor(row: Any, device_id: int | None = None) -> Actor:
    """A device row as an actor; an evaluator's counter is in ``counters``."""
    counters = (row.counter,) if row.counter is not None else ()
    return Actor("device", device_id if device_id is not None else row.id, row.kind, row.branch_id, counters,
                 row.name)


async def add_staff(
    app: Services,
    *,
    username: str,
    password: str,
    role: str,
    branch_id: str | None,
    counters: list[int] | None = None,
    branches: list[str] | None = None,
    display_name: str | None = None,
    password_hash: str | None = None,
    uow: UnitOfWork | None = None,
) -> int:
    """Create a staff account; its id.

    Pass ``password_hash`` to reuse one already computed (argon2 is slow: better not
    inside a write transaction), and ``uow`` to create the account in a unit of work
    the caller holds open (it commits, with whatever else it writes); without one the
    account is committed on its own.

    Raises:
        InvalidInput: unknown role, a teller or manager without a branch, further
            branches for anyone but a manager.
        NotFound: the branch, or one of the further branches, does not exist.
        Conflict: the username is taken (``exists``).
    """
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(STAFF_ROLES)}")
    if role not in ("admin", "inspector") and branch_id is None:
        raise InvalidInput("tellers and managers belong to a branch")
    if role == "inspector" and branch_id is None and not branches:
        raise InvalidInput("an inspector is assigned a branch or further branches")
    password_hash = password_hash or await hash_password(password)
    async with _within(app, uow) as u:
        for b in [branch_id, *(branches or [])]:
            if b is not None and await repo.load_branch(u.conn, b) is None:
                raise NotFound(f"no branch {b!r}")
        if await repo.staff_by_username(u.conn, username) is not None:
            raise Conflict(f"user {username!r} exists already", code="exists")
        if branches and role not in ("manager", "inspector"):
            raise InvalidInput("only managers and inspectors oversee further branches")
        return await accounts.insert_staff(
            u.conn,
            {
                "username": username, "password_hash": password_hash, "display_name": display_name or username,
                "role": role, "branch_id": branch_id, "counters": counters or [], "branches": branches or [],
                "active": True,
            },
        )


async def add_device(
    app: Services, *, branch_id: str, kind: str, name: str, token: str | None = None,
    uow: UnitOfWork | None = None, counter: int | None = None,
) -> str:
    """Enroll a device and return its token, which is stored only as a hash.

    With ``uow``, in the caller's unit of work (see :func:`add_staff`).
    """
    if kind not in DEVICE_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(DEVICE_KINDS)}")
    token = token or secrets.token_urlsafe(24)
    async with _within(app, uow) as u:
        if await repo.load_branch(u.conn, branch_id) is None:
            raise NotFound(f"no branch {branch_id!r}")
        await accounts.insert_device(
            u.conn,
            {
                "branch_id": branch_id, "kind": kind, "name": name, "token_hash": token_hash(token),
                "created_at": u.now, "status": {}, "revoked": False, "counter": counter,
            },
        )
    return token


@asynccontextmanager
async def _within(app: Services, uow: UnitOfWork | None) -> AsyncIterator[UnitOfWork]:
    """The caller's open unit of work, or else a new one of its own (on no branch)."""
    if uow is not None:
        yield uow
        return
    async with app.unit_of_work(None) as own:
        yield own
