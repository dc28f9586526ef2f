"""The appointment pages: a branch's booking and remote-queue page, and a booking's own page.

Customers (a phone, no sign-in): ``/book/{branch}`` books a slot (service, day, slot, contact,
consent) or, on its second tab, takes today's ticket from the phone with the advice when to set
off; ``/b/{token}`` is one booking, to show at the kiosk, check in from the phone within the
window, reschedule or cancel. ``/b/{token}/qr.svg`` is the QR code of that page, which the
kiosk's camera reads to check the booking in.
"""

from __future__ import annotations

import io

import segno
from aiohttp import web

from .api import BRANCH
from .pages import page
from .routes import SVG, public_base

BOOKING_TOKEN = r"{token:[A-Za-z0-9_-]{8,64}}"


async def booking_qr(request: web.Request) -> web.Response:
    """The booking page's address as a QR code (SVG). It holds nothing but the address, which the
    customer already has, so no look-up is needed: an unknown token makes a code of a page that
    says "not found"."""
    url = f"{public_base(request)}/b/{request.match_info['token']}"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False)
    return web.Response(body=buffer.getvalue(), content_type=SVG,
                        headers={"Cache-Control": "private, max-age=86400"})


def setup_bookings(app: web.Application) -> None:
    app.router.add_get(f"/book/{BRANCH}", page("server", "book/book.html"))
    app.router.add_get(f"/b/{BOOKING_TOKEN}", page("server", "book/booking.html"))
    app.router.add_get(f"/b/{BOOKING_TOKEN}/qr.svg", booking_qr)
