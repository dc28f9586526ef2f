"""Who is calling: a device's bearer token, a staff session cookie, or nobody."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from aiohttp import web
from aiohttp_session import get_session, new_session
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from server.domain.errors import Forbidden
from server.services import auth
from server.services.context import PUBLIC, Actor, Services
from server.settings import Settings

SESSION_COOKIE = "branchq_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def secret_key(settings: Settings) -> bytes:
    """The session key: from settings, else kept in a file so restarts keep sessions.

    The file is made readable by its owner only from its first byte, and atomically: of
    several processes starting together, one writes it and all use it.
    """
    if settings.secret_key:
        return base64.urlsafe_b64decode(settings.secret_key)[:32]
    path = Path(settings.secret_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, base64.urlsafe_b64encode(os.urandom(32)))
        finally:
            os.close(fd)
        try:
            os.link(fresh, path)  # fails if another process got there first: use its key
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
    return base64.urlsafe_b64decode(path.read_bytes().strip())[:32]


SESSION_MAX_AGE = web.AppKey("session_max_age_s", int)


def setup_auth(app: web.Application, settings: Settings) -> None:
    app[SESSION_MAX_AGE] = settings.session_max_age_s
    setup_session(
        app,
        EncryptedCookieStorage(
            secret_key(settings),
            cookie_name=SESSION_COOKIE,
            httponly=True,
            samesite="Strict",
            secure=settings.cookie_secure,
            max_age=settings.session_max_age_s,
        ),
    )


async def session_secret(request: web.Request) -> str | None:
    """The secret the request's session cookie carries (its hash names the session row)."""
    secret = (await get_session(request)).get("sid")
    return secret if isinstance(secret, str) and 20 <= len(secret) <= 100 else None


async def actor_for(request: web.Request, services: Services) -> Actor:
    """The actor behind the request; cookie-authenticated writes must come from our own origin.

    A staff cookie stands for a session row: once that session ended (signed out, ended from
    the sessions page, password reset, account disabled or changed) the cookie is worth nothing.
    """
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return await auth.device_actor(services, header.removeprefix("Bearer ").strip())
    secret = await session_secret(request)
    if secret is None:
        return PUBLIC
    actor = await auth.session_actor(services, secret)
    if actor is None:
        (await get_session(request)).invalidate()
        return PUBLIC
    if request.method in UNSAFE_METHODS:
        check_origin(request)
    return actor


def check_origin(request: web.Request) -> None:
    """Refuse cross-site writes riding on a staff cookie (CSRF)."""
    origin = request.headers.get("Origin")
    if origin is None:
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            raise Forbidden("cross-site request refused", code="bad_origin")
        return
    own = f"{request.scheme}://{request.host}"
    trusted = request.app.get(TRUSTED_ORIGINS, ())
    public = request.app.get(PUBLIC_ORIGIN)
    if origin != own and origin not in trusted and origin != public:
        raise Forbidden("cross-site request refused", code="bad_origin")


TRUSTED_ORIGINS = web.AppKey("trusted_origins", tuple)
PUBLIC_ORIGIN = web.AppKey("public_origin", str)
"""The scheme and host of BRANCHQ_PUBLIC_URL: pages served through it are our own."""


async def sign_in(request: web.Request, signed_in: auth.SignedIn) -> None:
    session = await new_session(request)
    session["sid"] = signed_in.secret


async def sign_out(request: web.Request, services: Services) -> None:
    secret = await session_secret(request)
    if secret is not None:
        await auth.logout(services, secret)
    (await get_session(request)).invalidate()
