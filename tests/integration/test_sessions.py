"""Sessions that end, sockets that follow the account as it is now, sign-ins that cannot be
brute-forced or forged.

Each test here failed before sessions were server-side records: a cookie was valid for its
whole 12 hours whatever happened to the account, a socket kept the identity it had at hello,
a signed-in cookie skipped the sign-in limit, and a cross-site form could sign anyone in.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from server.services.auth import HashingPool
from server.store.tables import AuditEntry, StaffSession
from tests.conftest import _truncate_pg, seconds
from tests.integration.server_process import ServerProcess
from tests.integration.test_ws import base_url, closed_with, receive, staff_session

A = "/api/v1/admin"
B = "/api/v1/branches/demo"
PASSWORD = {"password": "demo-pass"}


async def ok(resp, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def refused(resp, status: int, code: str) -> dict[str, Any]:
    body = await resp.json()
    assert resp.status == status, body
    assert body["error"]["code"] == code, body
    return body


async def staff_id(session, username: str) -> int:
    staff = await ok(await session.get(f"{A}/staff"))
    return next(s["id"] for s in staff if s["username"] == username)


async def counter_socket(http: aiohttp.ClientSession, url: str = "/ws", branch: str = "demo"):
    """A teller's counter view, past welcome and snapshot."""
    ws = await http.ws_connect(url)
    await ws.send_json({"type": "hello", "role": "counter", "branch": branch})
    assert (await receive(ws))["type"] == "welcome"
    assert (await receive(ws))["type"] == "snapshot"
    return ws


async def command(ws, id_: int, type_: str, **args: Any) -> dict[str, Any]:
    await ws.send_json({"id": id_, "type": type_, **args})
    async with asyncio.timeout(seconds(5)):
        while True:
            msg = await ws.receive_json()
            if msg.get("type") == "result" and msg.get("id") == id_:
                return msg


# --- finding: a socket keeps the power it had at hello ---------------------------------------


async def test_a_disabled_tellers_open_socket_closes_and_its_commands_change_nothing(demo):
    async with staff_session(demo, "admin") as admin, staff_session(demo, "teller3") as teller:
        ws = await counter_socket(teller)
        opened = await command(ws, 1, "counter/open", counter=3)
        assert opened["success"], opened
        teller3 = await staff_id(admin, "teller3")
        await ok(await admin.patch(f"{A}/staff/{teller3}", json={"active": False}))
        code, reason = await closed_with(ws)
        assert code == 4401 and "sign in again" in reason
        await refused(await teller.post(f"{B}/tickets", json={"service": "A"}), 401, "unauthenticated")


async def test_a_command_is_checked_against_the_account_as_it_is_now_even_without_a_notice(demo):
    """Disabled behind the server's back (no access notice at all): the next command is refused."""
    async with staff_session(demo, "teller3") as teller:
        ws = await counter_socket(teller)
        async with demo.services.db.write() as conn:
            from sqlalchemy import update

            from server.store.tables import Staff
            await conn.execute(update(Staff.__table__).where(Staff.__table__.c.username == "teller3")
                               .values(active=False))
        await ws.send_json({"id": 1, "type": "counter/open", "counter": 3})
        code, reason = await closed_with(ws)
        assert code == 4401, (code, reason)
        async with demo.services.db.read() as conn:
            from server.store import repository as repo
            counter = next(c for c in (await repo.counter_rows(conn, "demo")) if c.number == 3)
        assert counter.state == "closed", "the refused command changed nothing"


async def test_a_manager_moved_to_teller_elsewhere_loses_the_old_branch_at_once(demo):
    async with staff_session(demo, "admin") as admin:
        await ok(await admin.post(f"{A}/branches", json={
            "id": "north", "names": {"zh-CN": "北", "en": "North"}, "timezone": "Asia/Shanghai",
        }), 201)
        async with staff_session(demo, "manager") as manager:
            ws = await counter_socket(manager)
            dash = await manager.ws_connect("/ws")
            await dash.send_json({"type": "hello", "role": "dashboard", "branch": "demo"})
            assert (await receive(dash))["type"] == "welcome"
            me = await staff_id(admin, "manager")
            await ok(await admin.patch(f"{A}/staff/{me}", json={"role": "teller", "branch": "north",
                                                                "counters": []}))
            for socket in (ws, dash):
                code, _ = await closed_with(socket)
                assert code == 4401
            # The role change ended the session too: the old cookie opens nothing.
            await refused(await manager.get(f"{B}/queue"), 401, "unauthenticated")
            again = await manager.ws_connect("/ws")
            await again.send_json({"type": "hello", "role": "counter", "branch": "demo"})
            code, reason = await closed_with(again)
            assert code == 1008 and "sign in" in reason


@pytest.mark.postgres
async def test_account_changes_on_one_process_close_sockets_on_another_whatever_branch_they_follow(
        pg_database, tmp_path: Path):
    """Process B has sockets of an admin (no home branch) and of a teller; disabling them on A
    closes both on B, though no event of their home branch ever reaches B."""
    await _truncate_pg(pg_database)
    a = ServerProcess(pg_database, tmp_path / "a", demo=True)
    b = ServerProcess(pg_database, tmp_path / "b", demo=True)
    async with a, b:
        async with aiohttp.ClientSession(base_url=a.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as on_a:
            await ok(await on_a.post("/api/v1/auth/login", json={"username": "admin", **PASSWORD}))
            await ok(await on_a.post(f"{A}/staff", json={"username": "admin2", "password": "second-pass-1",
                                                         "role": "admin"}), 201)
            sockets = []
            jars = []
            for username, password in (("admin2", "second-pass-1"), ("teller3", "demo-pass")):
                http = aiohttp.ClientSession(base_url=b.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))
                jars.append(http)
                await ok(await http.post("/api/v1/auth/login", json={"username": username, "password": password}))
                sockets.append(await counter_socket(http))
            try:
                for username in ("admin2", "teller3"):
                    await ok(await on_a.patch(f"{A}/staff/{await staff_id(on_a, username)}", json={"active": False}))
                for ws in sockets:
                    code, _ = await closed_with(ws, timeout=10)
                    assert code == 4401
            finally:
                for http in jars:
                    await http.close()


# --- finding: sessions cannot be ended ---------------------------------------------------------


def _cookie(session: aiohttp.ClientSession) -> dict[str, str]:
    return {c.key: c.value for c in session.cookie_jar}


async def test_a_cookie_captured_before_logout_opens_nothing_after_and_its_socket_closes(demo):
    async with staff_session(demo, "teller3") as teller:
        captured = _cookie(teller)
        ws = await counter_socket(teller)
        await ok(await teller.post("/api/v1/auth/logout"))
        code, _ = await closed_with(ws)
        assert code == 4401
    async with aiohttp.ClientSession(base_url=base_url(demo), cookies=captured) as thief:
        await refused(await thief.get("/api/v1/auth/me"), 401, "unauthenticated")


async def test_a_password_reset_ends_every_session_of_the_account(demo):
    async with staff_session(demo, "admin") as admin, staff_session(demo, "teller3") as one, \
            staff_session(demo, "teller3") as two:
        await ok(await one.get("/api/v1/auth/me"))
        teller3 = await staff_id(admin, "teller3")
        await ok(await admin.post(f"{A}/staff/{teller3}/password", json={"password": "a-new-secret-9"}))
        for session in (one, two):
            await refused(await session.get("/api/v1/auth/me"), 401, "unauthenticated")
        await ok(await admin.get("/api/v1/auth/me"))


async def test_staff_see_their_own_sessions_and_end_one_or_all_others(demo):
    async with staff_session(demo, "teller3") as here, staff_session(demo, "teller3") as laptop, \
            staff_session(demo, "teller3") as phone, staff_session(demo, "teller2") as colleague:
        listed = await ok(await here.get("/api/v1/auth/sessions"))
        assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
        assert all(len(s["id"]) == 16 for s in listed)
        assert len(await ok(await colleague.get("/api/v1/auth/sessions"))) == 1, "only one's own"
        laptops = next(s["id"] for s in await ok(await laptop.get("/api/v1/auth/sessions")) if s["current"])
        # Someone else's session cannot be ended by its id.
        await refused(await colleague.delete(f"/api/v1/auth/sessions/{laptops}"), 404, "not_found")
        await ok(await here.delete(f"/api/v1/auth/sessions/{laptops}"))
        await refused(await laptop.get("/api/v1/auth/me"), 401, "unauthenticated")
        assert (await ok(await here.post("/api/v1/auth/sessions/end-others")))["ended"] == 1
        await refused(await phone.get("/api/v1/auth/me"), 401, "unauthenticated")
        await ok(await here.get("/api/v1/auth/me"))
        await ok(await colleague.get("/api/v1/auth/me"))
    async with demo.services.db.read() as conn:
        rows = (await conn.execute(select(StaffSession.__table__))).all()
    assert {r.ended_why for r in rows if r.ended_at is not None} >= {"ended by its owner"}


async def test_the_sessions_page_lists_and_ends_sessions(demo):
    async with staff_session(demo, "teller3") as teller:
        page = await teller.get("/account")
        assert page.status == 200 and "/static/account/account.js" in await page.text()
        script = await teller.get("/static/account/account.js")
        assert script.status == 200 and "/api/v1/auth/sessions" in await script.text()


# --- finding: sign-in brute force ----------------------------------------------------------------


async def _guess(session, username: str, password: str = "wrong-guess") -> aiohttp.ClientResponse:
    return await session.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_five_wrong_passwords_lock_the_account_even_for_a_signed_in_guesser(demo):
    async with staff_session(demo, "teller2") as guesser:  # a staff cookie skips nothing
        for _ in range(4):
            await refused(await _guess(guesser, "teller3"), 401, "bad_credentials")
        await refused(await _guess(guesser, "teller3"), 401, "bad_credentials")
        locked = await _guess(guesser, "teller3", "demo-pass")  # the right password, too late
        body = await refused(locked, 429, "locked")
        assert int(locked.headers["Retry-After"]) == body["error"]["retry_after"] > 0
    # Another person at another address: the account is locked for everyone.
    async with aiohttp.ClientSession(base_url=base_url(demo)) as other:
        await refused(await _guess(other, "teller3", "demo-pass"), 429, "locked")
    # The lock runs out by itself...
    demo.clock.advance(seconds=61)
    await ok(await _guess(demo.client, "teller3", "demo-pass"))


async def test_a_manager_lifts_a_lock_and_both_are_in_the_audit_log(demo):
    for _ in range(5):
        await _guess(demo.client, "teller3")
    await refused(await _guess(demo.client, "teller3", "demo-pass"), 429, "locked")
    async with staff_session(demo, "manager") as manager, staff_session(demo, "teller2") as teller:
        teller3 = next(s["id"] for s in await ok(await manager.get(f"{A}/staff")) if s["username"] == "teller3")
        await refused(await teller.post(f"{B}/staff/{teller3}/unlock"), 403, "forbidden")
        assert (await ok(await manager.post(f"{B}/staff/{teller3}/unlock")))["lifted"] is True
    await ok(await _guess(demo.client, "teller3", "demo-pass"))
    async with demo.services.db.read() as conn:
        actions = [r.action for r in (await conn.execute(select(AuditEntry.__table__))).all()]
    assert "auth.locked" in actions and "auth.unlock" in actions


async def test_a_success_clears_the_count(demo):
    for _ in range(4):
        await _guess(demo.client, "teller3")
    await ok(await _guess(demo.client, "teller3", "demo-pass"))
    for _ in range(4):
        await refused(await _guess(demo.client, "teller3"), 401, "bad_credentials")
    await ok(await _guess(demo.client, "teller3", "demo-pass"))


async def test_many_accounts_guessed_from_one_address_lock_the_address(demo):
    for i in range(20):
        await refused(await _guess(demo.client, f"nobody{i}"), 401, "bad_credentials")
    await refused(await _guess(demo.client, "teller3", "demo-pass"), 429, "locked")


async def test_argon2_runs_on_a_bounded_pool_that_refuses_rather_than_queues():
    import threading

    from server.domain.errors import RateLimited

    pool = HashingPool(workers=1, max_waiting=2)
    release = threading.Event()
    first = asyncio.ensure_future(pool.run(release.wait, 5))
    second = asyncio.ensure_future(pool.run(lambda: 1))
    await asyncio.sleep(0.05)
    with pytest.raises(RateLimited) as refusal:
        await pool.run(lambda: 2)
    assert refusal.value.code == "busy"
    release.set()
    assert await first is True and await second == 1
    assert await pool.run(lambda: 3) == 3


# --- finding: login CSRF --------------------------------------------------------------------------


async def test_a_cross_site_sign_in_is_refused(demo):
    resp = await demo.client.post(
        "/api/v1/auth/login", json={"username": "teller3", **PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    await refused(resp, 403, "bad_origin")
    assert "Set-Cookie" not in resp.headers


# --- finding: an evaluator is not tied to its counter ----------------------------------------------


async def test_an_evaluator_rates_only_at_the_counter_it_faces(demo):
    async with staff_session(demo, "manager") as manager:
        await refused(await manager.post(f"{A}/branches/demo/enrollments",
                                         json={"kind": "evaluator", "name": "c3"}), 400, "invalid_input")
        await refused(await manager.post(f"{A}/branches/demo/enrollments",
                                         json={"kind": "display", "name": "hall", "counter": 3}), 400, "invalid_input")
        code = await ok(await manager.post(f"{A}/branches/demo/enrollments",
                                           json={"kind": "evaluator", "name": "c3", "counter": 3}), 201)
        token = (await ok(await demo.client.post("/api/v1/devices/enroll", json={"code": code["code"]}), 201))["token"]
    async with staff_session(demo, "teller3") as teller3:
        for service in ("A", "A"):
            await ok(await teller3.post(f"{B}/tickets", json={"service": service}), 201)
        await ok(await teller3.post(f"{B}/counters/3/open"))
        called = await ok(await teller3.post(f"{B}/counters/3/call-next"))
        await ok(await teller3.post(f"{B}/counters/3/finish", json={"expect": called["ticket"]["id"]}))
    evaluator = {"Authorization": f"Bearer {token}"}
    body = await refused(await demo.client.post(f"{B}/counters/4/feedback", json={"score": 1}, headers=evaluator),
                         403, "not_this_counter")
    assert "counter 3" in body["error"]["message"]
    await ok(await demo.client.post(f"{B}/counters/3/feedback", json={"score": 5}, headers=evaluator), 201)
