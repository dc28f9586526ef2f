"""Rate limits: a kiosk gets a burst and a steady rate; the public a fair share; staff never wait."""

from __future__ import annotations

import pytest

from server.app import create_app
from server.services.demo import seed_demo
from server.settings import Settings
from server.web.api import SERVICES
from tests.conftest import KIOSK, login

B = "/api/v1/branches/demo"


@pytest.fixture
async def limited(db_url, tmp_path, clock, aiohttp_client):
    settings = Settings(database=db_url, secret_file=str(tmp_path / "k"), demo=True,
                        issue_rate_limit="10/minute", public_rate_limit="5/minute")
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    await seed_demo(app[SERVICES])
    return client


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_kiosk_past_its_limit_gets_429_with_a_plain_message_and_nothing_issued(limited):
    for _ in range(10):
        assert (await limited.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).status == 201
    refused = await limited.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)
    assert refused.status == 429
    assert refused.headers["Retry-After"]
    body = await refused.json()
    assert body["error"]["code"] == "rate_limited" and "try again" in body["error"]["message"]
    await login(limited, "manager")
    queue = await (await limited.get(f"{B}/queue")).json()
    assert len(queue["tickets"]) == 10


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_signed_in_staff_are_never_rate_limited(limited):
    await login(limited, "manager")
    for _ in range(15):
        assert (await limited.post(f"{B}/tickets", json={"service": "B"})).status == 201


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_public_ticket_view_is_limited_per_address(limited):
    issued = await (await limited.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).json()
    statuses = [(await limited.get(f"/api/v1/tickets/{issued['token']}")).status for _ in range(7)]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


@pytest.fixture
async def behind_nginx(db_url, tmp_path, clock, aiohttp_client):
    """The server as deploy/nginx.conf runs it: every request from the proxy on 127.0.0.1."""
    settings = Settings(database=db_url, secret_file=str(tmp_path / "k"), demo=True, trusted_proxies=["127.0.0.0/8"],
                        issue_rate_limit="10/minute", public_rate_limit="5/minute")
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    await seed_demo(app[SERVICES])
    return client


def via_proxy(client_ip: str, claimed: str | None = None) -> dict[str, str]:
    """The header nginx's ``$proxy_add_x_forwarded_for`` sends: what the client claimed, then its address."""
    return {"X-Forwarded-For": f"{claimed}, {client_ip}" if claimed else client_ip}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_behind_a_trusted_proxy_each_customer_has_a_public_limit_of_their_own(behind_nginx):
    issued = await (await behind_nginx.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).json()
    page = f"/api/v1/tickets/{issued['token']}"
    for n in range(1, 9):  # eight phones, each within its own five a minute
        for _ in range(5):
            assert (await behind_nginx.get(page, headers=via_proxy(f"203.0.113.{n}"))).status == 200
    assert (await behind_nginx.get(page, headers=via_proxy("203.0.113.1"))).status == 429
    assert (await behind_nginx.get(page, headers=via_proxy("203.0.113.9"))).status == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_client_cannot_escape_its_limit_by_claiming_other_addresses(behind_nginx):
    issued = await (await behind_nginx.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).json()
    page = f"/api/v1/tickets/{issued['token']}"
    statuses = [
        (await behind_nginx.get(page, headers=via_proxy("198.51.100.7", claimed=f"10.9.9.{i}"))).status
        for i in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(limited):
    issued = await (await limited.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).json()
    page = f"/api/v1/tickets/{issued['token']}"
    statuses = [(await limited.get(page, headers=via_proxy(f"203.0.113.{i}"))).status for i in range(7)]
    assert statuses == [200] * 5 + [429] * 2


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
async def test_a_branch_kiosk_limit_set_in_the_admin_api_limits_its_kiosks(limited):
    admin = limited
    await login(admin, "admin")
    resp = await admin.patch("/api/v1/admin/branches/demo", json={"limits": {"kiosk_issue": "ten a second"}})
    assert resp.status == 422 and "limits.kiosk_issue" in await resp.text(), await resp.text()
    resp = await admin.patch("/api/v1/admin/branches/demo", json={"limits": {"kiosk_issue": "3/minute"}})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["limits"] == {"kiosk_issue": "3/minute"}
    statuses = [(await limited.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).status
                for _ in range(5)]
    # the first issue reads the branch's new row; from then on its own limit counts
    assert statuses.count(201) <= 4 and statuses[-1] == 429, statuses


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_kiosk_takes_only_its_share_of_a_capped_service_over_http(limited):
    await login(limited, "admin")
    resp = await limited.patch("/api/v1/admin/branches/demo/services/A", json={"daily_cap": 3, "staff_reserve": 1})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["staff_reserve"] == 1
    statuses = [(await limited.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)).status for _ in range(3)]
    assert statuses == [201, 201, 409]
    resp = await limited.post(f"{B}/tickets", json={"service": "A"}, headers=KIOSK)
    assert (await resp.json())["error"]["code"] == "daily_cap_reached"
    assert (await limited.post(f"{B}/tickets", json={"service": "A"})).status == 201, "the admin, as staff"
