"""What the booking pages' browser tests share: the slot a test books, made-up contacts, and the
booking routes while the server does not have them yet.

:class:`Bookings` is the one way the tests reach bookings. Where the server answers the booking
routes (``GET /branches/demo/slots`` is not a 404), everything goes to it. Where it does not, a
page's calls to those routes are answered in the page (Playwright's ``page.route``) from a small
in-memory branch that follows the contract of DESIGN.md, and its check-ins and remote tickets
are real tickets of the real server, so the kiosk, the phone page and the counters see them as
any other. That stand-in goes as soon as the server has the routes: nothing in a test changes.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone

import yaml

from .conftest import Branch, ServerProcess

#: The demo branch's zone (Asia/Shanghai has no summer time).
BRANCH_ZONE = timezone(timedelta(hours=8))
_phones = itertools.count(13900001000)
#: The characters of booking codes (the server's CODE_ALPHABET).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

ROUTES = re.compile(
    r"/api/v1/(branches/demo/(slots|bookings|remote-tickets)(/|\?|$)|bookings/|tickets/[A-Za-z0-9_-]+/notify$)"
)


def a_phone() -> str:
    """A mobile number of its own for each booking (the server limits bookings per contact)."""
    return str(next(_phones))


def booking_day(days_ahead: int = 2) -> str:
    """A day the demo books (the server's own limit is two weeks), never today: its slots pass."""
    return (datetime.now(BRANCH_ZONE).date() + timedelta(days=days_ahead)).isoformat()


class Bookings:
    """The branch's bookings: the server's own routes, or the stand-in until it has them."""

    def __init__(self, server: ServerProcess, branch: Branch) -> None:
        self.server = server
        self.branch = branch
        self.real = has_route(server, "GET", f"/branches/demo/slots?service=A&date={booking_day()}")
        self.real_notify = has_route(server, "POST", "/tickets/not-a-real-token/notify", {"ahead": 1, "consent": True})
        self.made: dict[str, dict] = {}
        self.taken: dict[str, int] = {}
        self.notify_asks: list[dict] = []

    # --- for the tests ---

    def attach(self, page) -> None:
        """Answer ``page``'s booking calls (only while the server does not)."""
        if not self.real or not self.real_notify:
            page.route(ROUTES, self._answer)

    def slots(self, service: str, day: str) -> list[dict]:
        if self.real:
            return self.server.api().ok("GET", f"/branches/demo/slots?service={service}&date={day}")["slots"]
        return self._slots(service, day)

    def book(self, service: str = "A", *, day: str | None = None, name: str = "王预约") -> dict:
        """A booking made as the page makes it: {code, token, slot}."""
        day = day or booking_day()
        slot = next(s for s in self.slots(service, day) if s["free"] > 0)
        contact = {"name": name, "phone": a_phone()}
        body = {"service": service, "slot": slot["slot"], "contact": contact, "consent": True}
        if self.real:
            return self.server.api().ok("POST", "/branches/demo/bookings", body)
        return self._book(body)

    @contextmanager
    def check_in_open(self) -> Iterator[None]:
        """Check-in open for every slot of the next four hours: the demo's window opens 30 min before
        a slot, and its slots can be booked only 30 min ahead, so a test could never check a booking
        in on the day it books it. The admin widens the window (the branch's YAML), then restores it."""
        if not self.real:
            yield
            return
        admin = self.server.api()
        admin.ok("POST", "/auth/login", {"username": "admin", "password": "demo-pass"})
        before = self._config(admin)
        wider = yaml.safe_load(before)
        wider["appointments"]["early_min"] = 240
        self._apply(admin, yaml.safe_dump(wider, allow_unicode=True))
        try:
            yield
        finally:
            self._apply(admin, before)

    def _config(self, admin) -> str:
        with admin.opener.open(f"{self.server.base_url}/api/v1/admin/branches/demo/config") as resp:
            return resp.read().decode()

    def _apply(self, admin, text: str) -> None:
        request = urllib.request.Request(
            f"{self.server.base_url}/api/v1/admin/branches/demo/config", data=text.encode(), method="PUT",
            headers={"Content-Type": "application/yaml", "Origin": self.server.base_url})
        with admin.opener.open(request) as resp:
            assert resp.status == 200, resp.read()

    def check_in(self, code: str) -> dict:
        """Check the booking in as the demo kiosk does: {code, on_time, ticket, status_url}."""
        if self.real:
            return self.server.api().ok("POST", f"/branches/demo/bookings/{code}/check-in", {},
                                        headers={"Authorization": "Bearer demo-kiosk"})
        return self._check_in(next(b for b in self.made.values() if b["code"] == code))

    def booking(self, token: str) -> dict:
        if self.real:
            return self.server.api().ok("GET", f"/bookings/{token}")
        return self._view(self.made[token])

    # --- the stand-in ---

    def _slots(self, service: str, day: str) -> list[dict]:
        """Half-hour slots 09:00–12:00 with 2 places, the 10:00 one full from the start."""
        out = []
        start_day = date.fromisoformat(day)
        for i in range(6):
            start = datetime.combine(start_day, time(9, 0), BRANCH_ZONE) + timedelta(minutes=30 * i)
            sid = f"{service}-{start.strftime('%Y%m%d%H%M')}"
            capacity = 2
            free = 0 if start.time() == time(10, 0) else capacity - self.taken.get(sid, 0)
            out.append({"slot": sid, "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
                        "capacity": capacity, "free": max(0, free)})
        return out

    def _slot(self, sid: str) -> dict | None:
        service, stamp = sid.split("-", 1)
        day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
        return next((s for s in self._slots(service, day) if s["slot"] == sid), None)

    def _book(self, body: dict) -> dict:
        slot = self._slot(body["slot"])
        if slot is None or slot["free"] <= 0:
            raise Refused(409, "slot_full", "the slot has no free place")
        self.taken[slot["slot"]] = self.taken.get(slot["slot"], 0) + 1
        token = secrets.token_urlsafe(16)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        self.made[token] = {"token": token, "code": code, "service": body["service"], "slot": slot["slot"],
                            "state": "booked", "ticket": None, "contact": body["contact"]}
        return {"code": code, "token": token, "slot": slot["slot"], "service": body["service"],
                "start": slot["start"], "end": slot["end"], "status_url": f"/b/{token}"}

    def _view(self, b: dict) -> dict:
        services = {s["code"]: s for s in self.server.api().ok("GET", "/branches/demo/services")}
        slot = self._slot(b["slot"])
        start = datetime.fromisoformat(slot["start"])
        return {"branch": "demo", "service": b["service"], "service_names": services[b["service"]]["names"],
                "state": b["state"], "attendance": "checked_in" if b["state"] == "checked_in" else "upcoming",
                "code": b["code"], "slot": slot["slot"], "start": slot["start"], "end": slot["end"],
                "check_in_from": (start - timedelta(hours=12)).isoformat(),  # no window in the stand-in
                "check_in_until": (start + timedelta(minutes=10)).isoformat(), "ticket": b["ticket"]}

    def _check_in(self, b: dict) -> dict:
        if b["state"] != "booked":
            raise Refused(409, "not_booked", f"the booking is {b['state']}")
        ticket = self.branch.issue(b["service"])
        b["state"] = "checked_in"
        b["ticket"] = {"number": ticket["number"], "token": ticket["token"], "state": ticket["state"]}
        return {"code": b["code"], "on_time": True, "ticket": ticket, "status_url": f"/t/{ticket['token']}"}

    def _day(self, day: str | None) -> dict:
        """The day's tallies per service and slot, as the server counts them."""
        tallies: dict[str, dict[str, dict]] = {}
        for b in self.made.values():
            slot = self._slot(b["slot"])
            if day and not slot["start"].startswith(day):
                continue
            tally = tallies.setdefault(b["service"], {}).setdefault(slot["slot"], {
                **{k: slot[k] for k in ("slot", "start", "end", "capacity")},
                "booked": 0, "checked_in": 0, "due": 0, "late": 0, "no_show": 0, "upcoming": 0, "cancelled": 0})
            if b["state"] == "cancelled":
                tally["cancelled"] += 1
                continue
            tally["booked"] += 1
            tally["checked_in" if b["state"] == "checked_in" else "upcoming"] += 1
        return {"date": day, "bookings": [],
                "services": [{"service": s, "slots": list(slots.values())} for s, slots in tallies.items()]}

    def _answer(self, route) -> None:
        request = route.request
        url = urllib.parse.urlsplit(request.url)
        path = url.path.removeprefix("/api/v1")
        query = dict(urllib.parse.parse_qsl(url.query))
        body = request.post_data_json if request.post_data else None
        if (self.real_notify if path.endswith("/notify") else self.real):
            route.continue_()  # the server has this one
            return
        try:
            status, answer = self._route(request.method, path, query, body)
        except Refused as e:
            status, answer = e.status, {"error": {"code": e.code, "message": str(e)}}
        route.fulfill(status=status, content_type="application/json", body=json.dumps(answer))

    def _route(self, method: str, path: str, query: dict, body: dict | None) -> tuple[int, object]:
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/branches/demo/slots":
            return 200, {"service": query["service"], "date": query["date"],
                         "slots": self._slots(query["service"], query["date"])}
        if method == "POST" and path == "/branches/demo/bookings":
            if not body or not body.get("consent"):
                raise Refused(422, "invalid", "consent is required")
            return 201, self._book(body)
        if method == "GET" and path == "/branches/demo/bookings":
            return 200, self._day(query.get("date"))
        if method == "POST" and path == "/branches/demo/remote-tickets":
            ticket = self.branch.issue(body["service"])
            return 201, {"ticket": ticket, "come_now": False, "status_url": f"/t/{ticket['token']}"}
        if parts[:1] == ["tickets"] and parts[-1] == "notify":
            self.notify_asks.append(body)
            return 201, {"ahead": body["ahead"]}
        if parts[:3] == ["branches", "demo", "bookings"] and parts[-1] == "check-in":
            found = next((b for b in self.made.values() if b["code"] == parts[3]), None)
            if found is None:
                raise Refused(404, "not_found", "no booking has this code")
            return 201, self._check_in(found)
        if parts[0] == "bookings" and parts[1] in self.made:
            b = self.made[parts[1]]
            action = parts[2] if len(parts) > 2 else None
            if method == "GET" and action is None:
                return 200, self._view(b)
            if method == "POST" and action == "cancel":
                b["state"] = "cancelled"
                self.taken[b["slot"]] -= 1
                return 200, self._view(b)
            if method == "POST" and action == "reschedule":
                slot = self._slot(body["slot"])
                if slot is None or slot["free"] <= 0:
                    raise Refused(409, "slot_full", "the slot has no free place")
                self.taken[b["slot"]] -= 1
                self.taken[slot["slot"]] = self.taken.get(slot["slot"], 0) + 1
                b["slot"] = slot["slot"]
                return 200, self._view(b)
        raise Refused(404, "not_found", f"no such booking route {method} {path}")


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def has_route(server: ServerProcess, method: str, path: str, body: dict | None = None) -> bool:
    """Whether the server has the route at all: aiohttp's own 404 ("Not Found") says it has not."""
    status, answer = server.api().call(method, path, body)
    return not (status == 404 and (answer or {}).get("error", {}).get("message") == "Not Found")
