"""The manager's pages: the live dashboard and the reports."""

from __future__ import annotations

from aiohttp import web

from .pages import page


def setup_manage(app: web.Application) -> None:
    app.router.add_get(r"/manage/{branch:[a-z0-9-]+}", page("server", "manage/dashboard.html"))
    app.router.add_get(r"/manage/{branch:[a-z0-9-]+}/reports", page("server", "manage/reports.html"))
