"""The kiosk's touch screen and the phone page behind the ticket's QR code."""

from __future__ import annotations

from aiohttp import web

from .pages import page


def setup_kiosk(app: web.Application) -> None:
    app.router.add_get(r"/kiosk/{branch:[a-z0-9-]+}", page("kiosk", "kiosk.html"))
    app.router.add_get(r"/t/{token:[A-Za-z0-9_-]{8,64}}", page("kiosk", "ticket.html"))
