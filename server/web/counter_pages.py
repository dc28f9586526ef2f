"""The teller's page and the customer-facing evaluator."""

from __future__ import annotations

from aiohttp import web

from .pages import page


def setup_counter(app: web.Application) -> None:
    app.router.add_get("/counter", page("counter", "teller.html"))
    app.router.add_get(r"/evaluator/{branch:[a-z0-9-]+}/{number:[0-9]{1,4}}", page("counter", "evaluator.html"))
