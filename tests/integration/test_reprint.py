"""The reprint over HTTP on both databases: the answer, the refusals, the kiosk's print jobs."""

from __future__ import annotations

from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"


async def test_reprint_over_http_queues_a_job_for_the_issuing_kiosk_and_refuses_what_the_rules_refuse(demo):
    c = demo.client
    resp = await c.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)
    assert resp.status == 201
    ticket = await resp.json()
    await login(c, "manager")
    resp = await c.post(f"{B}/tickets/{ticket['id']}/reprint")
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert answer["number"] == ticket["number"] and answer["reprints"] == 1 and answer["kiosk_name"]

    resp = await c.get("/api/v1/devices/me/print-jobs", params={"after_id": "0"}, headers=KIOSK)
    assert resp.status == 200
    [job] = await resp.json()
    assert job["job"] == answer["job"] and job["id"] == ticket["id"] and job["reprinted_at"]

    for body, status, code in [
        ({"kiosk": 99999}, 404, "no_such_kiosk"),
        ({"kiosk": "one"}, 422, None),
        ({"kiosk": 0}, 422, None),
    ]:
        resp = await c.post(f"{B}/tickets/{ticket['id']}/reprint", json=body)
        assert resp.status in (status, 400), await resp.text()
        error = (await resp.json())["error"]
        if code:
            assert error["code"] == code
    for _ in range(2):
        assert (await c.post(f"{B}/tickets/{ticket['id']}/reprint")).status == 200
    resp = await c.post(f"{B}/tickets/{ticket['id']}/reprint")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "reprint_limit"

    await login(c, "teller1")
    assert (await c.post(f"{B}/tickets/{ticket['id']}/reprint")).status == 403
