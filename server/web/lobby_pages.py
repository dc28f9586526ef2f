"""The lobby manager's console: ``/lobby/{branch}``."""

from __future__ import annotations

from aiohttp import web

from .api import BRANCH
from .pages import page


def setup_lobby(app: web.Application) -> None:
    app.router.add_get(f"/lobby/{BRANCH}", page("server", "lobby/lobby.html"))
