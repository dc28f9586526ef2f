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
    settings = Settings(database=db_url, secret_file=str(tmp_path / "k"),
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
