"""Who is asking: staff passwords (argon2), device tokens (stored hashed), accounts."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from server.protocol import StaffAnswer
from server.store import accounts
from server.store import repository as repo

from . import demo
from .context import STAFF_ROLES, Actor, Services, UnitOfWork

DEVICE_KINDS = ("kiosk", "display", "evaluator")
SEEN_EVERY = timedelta(minutes=1)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take as long.
_DUMMY_HASH = _hasher.hash("not a password")


async def hash_password(password: str) -> str:
    """Argon2 is slow on purpose: off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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


async def login(app: Services, username: str, password: str) -> Actor:
    """Check a staff member's password.

    Raises:
        Unauthenticated: unknown user, wrong password or disabled account (one message for all).
    """
    async with app.db.read() as conn:
        row = await repo.staff_by_username(conn, username)
    ok = await _verify(row.password_hash if row else _DUMMY_HASH, password)
    if not app.demo and demo.is_demo_password(password):  # published: only in demo mode
        ok = False
    if not ok or row is None or not row.active:
        raise Unauthenticated("wrong username or password", code="bad_credentials")
    return _staff_actor(row)


async def staff_actor(app: Services, staff_id: int) -> Actor | None:
    """The signed-in staff member behind a session, or None once disabled or removed."""
    async with app.db.read() as conn:
        row = await repo.staff_by_id(conn, staff_id)
    if row is None or not row.active:
        return None
    return _staff_actor(row)


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
    return Actor("device", row.id, row.kind, row.branch_id, (), row.name)


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
    if role != "admin" and branch_id is None:
        raise InvalidInput("tellers and managers belong to a branch")
    password_hash = password_hash or await hash_password(password)
    async with _within(app, uow) as u:
        for b in [branch_id, *(branches or [])]:
            if b is not None and await repo.load_branch(u.conn, b) is None:
                raise NotFound(f"no branch {b!r}")
        if await repo.staff_by_username(u.conn, username) is not None:
            raise Conflict(f"user {username!r} exists already", code="exists")
        if branches and role != "manager":
            raise InvalidInput("only managers oversee further branches")
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
    uow: UnitOfWork | None = None,
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
                "created_at": u.now, "status": {}, "revoked": False,
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
