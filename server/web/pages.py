"""Static pages: vanilla ES modules served by the server itself (no build step, no CDN).

Each client package (kiosk/, counter/, display/) ships its own ``static/`` folder;
``/static/common/`` holds what they share (i18n table, websocket client).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import orjson
from aiohttp import web

from server.protocol import EVENT_KINDS, PLACEHOLDER_KIND

STATIC_PACKAGES = {
    "common": "server",
    "manage": "server",
    "lobby": "server",
    "admin": "server",
    "account": "server",
    "complaints": "server",
    "book": "server",
    "kiosk": "kiosk",
    "counter": "counter",
    "display": "display",
}


def static_dir(package: str) -> Path:
    return Path(str(resources.files(package) / "static"))


def page(package: str, filename: str):
    """A handler answering every matching path with one HTML file of ``package``."""
    path = static_dir(package) / filename

    async def handler(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


def events_module() -> str:
    """``/static/common/events.js``: the event catalogue for the pages, made from the one definition."""
    kinds = {
        name: {"fields": [f.name for f in kind.fields], "staff_only": kind.private}
        for name, kind in EVENT_KINDS.items()
    }
    lines = [
        "// Made by the server from server/domain/events.py, the one definition of every event kind.",
        f"export const EVENT_KINDS = Object.freeze({orjson.dumps(kinds).decode()});",
        f"export const PLACEHOLDER_KIND = {orjson.dumps(PLACEHOLDER_KIND).decode()};",
    ]
    for name in EVENT_KINDS:
        lines.append(f"export const {name.replace('.', '_').upper()} = {orjson.dumps(name).decode()};")
    return "\n".join(lines) + "\n"


def setup_pages(app: web.Application) -> None:
    module = events_module()

    async def events_js(_request: web.Request) -> web.Response:
        return web.Response(text=module, content_type="text/javascript", headers={"Cache-Control": "no-cache"})

    # Before the static folder, so this route answers for the generated module.
    app.router.add_get("/static/common/events.js", events_js)
    for prefix, package in STATIC_PACKAGES.items():
        folder = static_dir(package) / (prefix if package == "server" else "")
        if folder.is_dir():
            app.router.add_static(f"/static/{prefix}/", folder, append_version=False)
    # Page routes of each client are added here as they are built.
    from .display_pages import setup_display

    setup_display(app)
    from .manage_pages import setup_manage

    setup_manage(app)
    from .lobby_pages import setup_lobby

    setup_lobby(app)
    from .counter_pages import setup_counter

    setup_counter(app)
    from .kiosk_pages import setup_kiosk

    setup_kiosk(app)
    from .admin_pages import setup_admin

    setup_admin(app)
    # Complaints: the customer's form and case page, the manager's desk.
    from .complaint_pages import setup_complaints

    setup_complaints(app)
    # Appointments and remote queueing: the branch's booking page and a booking's own page.
    from .booking_pages import setup_bookings

    setup_bookings(app)
    # "My sessions": a staff member's own sign-ins, to see and end.
    app.router.add_get("/account", page("server", "account/account.html"))
