"""The complaint pages: the customer's form and case page, and the manager's complaint desk.

Customers (a phone, no sign-in): ``/complain/{branch}`` is the online form of a branch (from a
ticket's phone page it carries ``?ticket=<token>``, so the case is linked to that visit), and
``/c/{token}`` is the case as its complainant may see it. Staff: ``/manage/{branch}/complaints``
is the desk (list, filters, statistics), ``…/complaints/new`` the entry form for a hotline call,
a letter or a walk-in, and ``…/complaints/{id}`` the case page with its timeline and actions.
"""

from __future__ import annotations

from aiohttp import web

from .api import BRANCH
from .pages import page


def setup_complaints(app: web.Application) -> None:
    app.router.add_get(f"/complain/{BRANCH}", page("server", "complaints/complain.html"))
    app.router.add_get(r"/c/{token:[A-Za-z0-9_-]{8,64}}", page("server", "complaints/status.html"))
    app.router.add_get(f"/manage/{BRANCH}/complaints", page("server", "complaints/desk.html"))
    app.router.add_get(f"/manage/{BRANCH}/complaints/new", page("server", "complaints/entry.html"))
    app.router.add_get(f"/manage/{BRANCH}" + r"/complaints/{id:[0-9]{1,12}}", page("server", "complaints/case.html"))
