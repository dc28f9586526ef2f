"""The manager's pages: the live dashboard and the reports."""

from __future__ import annotations

from aiohttp import web

from .api import BRANCH
from .pages import page


def setup_manage(app: web.Application) -> None:
    app.router.add_get(f"/manage/{BRANCH}", page("server", "manage/dashboard.html"))
    app.router.add_get(f"/manage/{BRANCH}/reports", page("server", "manage/reports.html"))
    app.router.add_get(f"/manage/{BRANCH}/inspections", page("server", "manage/inspections.html"))
    app.router.add_get(f"/manage/{BRANCH}/bulletin", page("server", "manage/bulletin.html"))
    app.router.add_get(f"/manage/{BRANCH}/assessment", page("server", "manage/assessment.html"))
