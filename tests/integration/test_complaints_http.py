"""Complaint cases over HTTP on SQLite and PostgreSQL: the contract, privacy at rest, bad input."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"
PHONE, ID_NUMBER = "13812345678", "11010519491231002X"
CONTACT = {"name": "张三", "phone": PHONE, "id_number": ID_NUMBER}


async def served_ticket(c) -> str:
    resp = await c.post(B + "/tickets", json={"service": "A"}, headers=KIOSK)
    assert resp.status == 201, await resp.text()
    token = (await resp.json())["token"]
    await login(c, "teller1")
    for action in ("open", "call-next", "finish"):
        resp = await c.post(f"{B}/counters/1/{action}", json={})
        assert resp.status == 200, await resp.text()
    await c.post("/api/v1/auth/logout")
    return token


async def step(c, case_id: int, action: str, body: dict | None = None, status: int = 200) -> dict:
    resp = await c.post(f"{B}/complaints/{case_id}/{action}", json=body or {})
    assert resp.status == status, await resp.text()
    return await resp.json()


async def raw_database_text(services) -> bytes:
    """Everything the database holds, as bytes: the SQLite file itself, or every row of PostgreSQL."""
    url = str(services.db.url)
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    chunks = []
    async with services.db.read() as conn:
        tables = (await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars()
        for table in list(tables):
            rows = await conn.execute(text(f'SELECT row_to_json(x)::text FROM "{table}" x'))
            chunks.extend(r.encode() for r in rows.scalars())
    return b"\n".join(chunks)


async def test_the_whole_life_of_a_case_over_http_and_the_contact_never_at_rest_in_clear(demo):
    c = demo.client
    token = await served_ticket(c)
    resp = await c.post(B + "/complaints", json={"ticket_token": token, "category": "attitude",
                                                 "text": "the teller was rude", "contact": CONTACT})
    assert resp.status == 201, await resp.text()
    created = await resp.json()
    assert set(created) >= {"id", "number", "token", "state", "received_at", "due_at"}
    assert created["due_at"].endswith("+08:00") or "T15:59:59" in created["due_at"]

    public = await c.get(f"/api/v1/complaints/{created['token']}")
    assert public.status == 200 and PHONE not in await public.text()

    await login(c, "manager")
    listed = await (await c.get(B + "/complaints")).json()
    assert listed[0]["contact"]["phone"] == "138****5678" and PHONE not in str(listed)
    case = await (await c.get(f"{B}/complaints/{created['id']}")).json()
    assert case["contact_full"]["phone"] == PHONE and case["counter"] == 1 and case["teller"] is not None
    async with demo.services.db.read() as conn:
        audited = (await conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'complaint.contact_viewed'"
                                           ))).scalar_one()
    assert audited == 1

    me = (await (await c.get("/api/v1/auth/me")).json())["id"]
    cid = created["id"]
    await step(c, cid, "accept")
    await step(c, cid, "assign", {"handler": me})
    await step(c, cid, "extend", {"reason": "need the recording"})
    decision = {"text": "we apologise", "sent_via": "phone", "outcome": "upheld", "remedies": ["review"]}
    await step(c, cid, "decide", decision)
    await step(c, cid, "reopen", {"reason": "not enough"})
    await step(c, cid, "decide", decision)
    escalated = await step(c, cid, "escalate", {"reason": "asks for a superior"})
    assert escalated["state"] == "escalated" and escalated["escalations"] == 1
    await login(c, "admin")
    await step(c, cid, "decide", decision)
    await step(c, cid, "rectify", {"cause": "staff", "fix": "service training", "owner": "王经理", "due": "2026-12-31"})
    closed = await step(c, cid, "close", {"satisfied": True})
    rechecked = await step(c, cid, "recheck", {"result": "done"})
    assert closed["state"] == "closed" and rechecked["rectification"]["checked"] == "done"

    raw = await raw_database_text(demo.services)
    assert PHONE.encode() not in raw and ID_NUMBER.encode() not in raw


async def test_a_hotline_case_a_merged_duplicate_and_a_withdrawal(demo):
    c = demo.client
    await login(c, "manager")
    body = {"channel": "hotline", "category": "fees", "text": "charged twice", "contact": CONTACT}
    first = await (await c.post(B + "/complaints/entries", json=body)).json()
    again = await c.post(B + "/complaints/entries", json=body)
    assert again.status == 201
    again = await again.json()
    assert again["state"] == "merged" and again["merged_into"] == first["number"]
    assert again["due_at"] == first["due_at"]
    await step(c, first["id"], "withdraw", {"reason": "sorted out by phone"})
    assert (await (await c.get(f"{B}/complaints/{first['id']}")).json())["state"] == "withdrawn"


async def test_bad_input_and_out_of_order_steps_are_4xx_and_change_nothing(demo):
    c = demo.client
    base = {"category": "other", "text": "x", "contact": CONTACT}
    for bad, status in [
        ({**base, "text": "x" * 2001}, 400), ({**base, "text": ""}, 400), ({**base, "category": "nope"}, 400),
        ({**base, "contact": {"name": "张三"}}, 400), ({**base, "contact": {**CONTACT, "phone": "12ab"}}, 400),
        ({**base, "ticket_token": "nosuchticket0"}, 404), ({**base, "extra": 1}, 400),
    ]:
        resp = await c.post(B + "/complaints", json=bad)
        assert resp.status == status, (bad, await resp.text())
        assert "error" in await resp.json()
    await login(c, "manager")
    assert await (await c.get(B + "/complaints")).json() == []
    created = await (await c.post(B + "/complaints/entries", json={**base, "channel": "box"})).json()
    refused = await step(c, created["id"], "close", {}, status=409)
    assert refused["error"]["code"] == "invalid_transition"
    await step(c, created["id"], "nonsense", {}, status=404)
    assert (await (await c.get(f"{B}/complaints/{created['id']}")).json())["state"] == "received"


async def test_tellers_are_refused_and_a_guessed_case_token_is_rate_limited(demo):
    c = demo.client
    statuses = [(await c.get("/api/v1/complaints/guessedtoken" + str(i))).status for i in range(12)]
    assert statuses[:10] == [404] * 10 and statuses[-1] == 429
    await login(c, "teller1")
    assert (await c.get(B + "/complaints")).status == 403
    resp = await c.get(B + "/complaints", headers={"Authorization": "Bearer demo-display"})
    assert resp.status in (401, 403)
