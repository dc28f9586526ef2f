"""The administration page: branches, their services, counters, staff, devices and settings.

``GET /admin``              the branches the signed-in admin or manager may see
``GET /admin/{branch}``     one branch, every section of its configuration

One HTML page answers both; its script reads the path and calls ``/api/v1/admin/…``, which
decides what each role may see and change.
"""

from __future__ import annotations

from aiohttp import web

from .pages import page


def setup_admin(app: web.Application) -> None:
    handler = page("server", "admin/admin.html")
    app.router.add_get("/admin", handler)
    app.router.add_get(r"/admin/{branch:[a-z0-9-]+}", handler)
