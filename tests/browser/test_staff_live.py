"""Staff screens live on their websocket: events applied to the state, actions sent as commands.

The teller's page and the dashboard keep the branch state from the snapshot and the events
(``server/static/common/live.js``) instead of fetching a snapshot, the queue or the counter
again after each event; the teller acts through websocket commands; the report page reads the
business date from a snapshot. The reducer and the two queue orders it mirrors from the server
(the branch order of ``read_queue``, a counter's ``call_order``) are checked in the browser
against the Python they mirror.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.conftest import seconds

from .conftest import Branch

pytestmark = pytest.mark.slow

MS = 1000

#: Records every frame the page's websockets send, before any page script runs.
RECORD_SENT = """
window.__sent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) { window.__sent.push(String(data)); return send.call(this, data); };
"""


def ms(n: float) -> float:
    return seconds(n) * MS


def sign_in(page, username: str) -> None:
    page.get_by_label("用户名 Username").fill(username)
    page.get_by_label("密码 Password").fill("demo-pass")
    page.get_by_role("button", name="登录 Sign in").click()


def staff_page(new_page, url: str):
    """A page whose HTTP requests (page.requests) and websocket frames (window.__sent) are kept."""
    page = new_page("about:blank")
    page.requests = []
    page.on("request", lambda r: page.requests.append((r.method, r.url)))
    page.add_init_script(RECORD_SENT)
    page.goto(url)
    return page


def sent(page) -> list[dict]:
    return [json.loads(frame) for frame in page.evaluate("window.__sent")]


def drain(branch: Branch, counter: int) -> None:
    """Call and finish at ``counter`` until nothing it serves is waiting."""
    branch.teller(counter)
    while branch.next_or_none(counter) is not None:
        branch.act(counter, "finish")


def waiting_numbers(page) -> list[str]:
    return page.locator("#waiting tbody tr td:first-child").all_text_contents()


# --- the teller's page ---------------------------------------------------------------------


def test_a_tellers_queue_and_counters_follow_other_counters_with_no_request_and_no_snapshot(
    server, branch: Branch, new_page
):
    for n in (3, 4):  # counter 4 takes C and A, counter 3 A, B and C: none of them waits now
        drain(branch, n)
    page = staff_page(new_page, f"{server.base_url}/counter?branch=demo&counter=4")
    sign_in(page, "teller4")
    expect(page.locator("#status")).to_have_attribute("data-status", "connected", timeout=ms(10))
    expect(page.locator("#who")).to_have_text("teller4", timeout=ms(5))
    expect(page.locator("#waiting-count")).to_have_text("0")
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => e.name.includes('/counters/4'))",
        timeout=ms(5),
    )
    before = len(page.requests)
    page.evaluate("window.__sent.length = 0")

    issued = [branch.issue("C") for _ in range(3)]
    numbers = [t["number"] for t in issued]
    expect(page.locator("#waiting-count")).to_have_text("3", timeout=ms(5))
    assert waiting_numbers(page) == numbers
    called = branch.call_next(3)  # A, B and C at counter 3: it takes the oldest C
    assert called["number"] == numbers[0]
    expect(page.locator("#waiting-count")).to_have_text("2", timeout=ms(5))
    assert waiting_numbers(page) == numbers[1:]
    state = page.evaluate("window.__teller.live.state")
    counter3 = next(c for c in state["counters"] if c["number"] == 3)
    assert counter3["current"]["number"] == numbers[0] and counter3["current"]["state"] == "called"
    assert counter3["staff"] == "teller3"
    server_order = branch.teller(4).ok("GET", "/branches/demo/queue?counter=4")["tickets"]
    assert waiting_numbers(page) == [t["number"] for t in server_order]

    assert page.requests[before:] == [], "the page fetched something after an event"
    assert [m for m in sent(page) if m["type"] not in ("ping",)] == [], "the page asked for a snapshot"
    assert page.errors == []
    branch.act(3, "finish")


def test_the_tellers_actions_go_over_the_websocket_and_show_the_servers_refusals(
    server, branch: Branch, new_page
):
    for n in (3, 6):  # counter 6 takes E and A
        drain(branch, n)
    branch.act(6, "close")
    page = staff_page(new_page, f"{server.base_url}/counter?branch=demo&counter=6")
    sign_in(page, "teller6")
    page.get_by_role("button", name="开启 Open").click()
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=ms(5))

    ticket = branch.issue("E")
    expect(page.locator("#waiting")).to_contain_text(ticket["number"], timeout=ms(5))
    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text(ticket["number"], timeout=ms(5))
    page.keyboard.press("r")
    expect(page.locator("#current-service")).to_contain_text("重呼 1", timeout=ms(5))
    page.keyboard.press("s")
    expect(page.locator("#current-service")).to_contain_text("serving", timeout=ms(5))
    page.keyboard.press("t")
    page.get_by_label("到业务 To service").select_option("A")
    page.get_by_label("最前 First").check()
    page.get_by_role("button", name="转移 Transfer", exact=True).click()
    expect(page.locator("#current-number")).to_have_text("—", timeout=ms(5))
    row = page.locator("#waiting tr", has_text=ticket["number"])
    expect(row.locator("td").nth(1)).to_have_text("A", timeout=ms(5))
    row.get_by_role("button").click()
    expect(page.locator("#current-number")).to_have_text(ticket["number"], timeout=ms(5))
    expect(page.locator("#current-service")).to_contain_text("A · 已呼叫 called")
    page.keyboard.press("x")
    expect(page.locator("#current-number")).to_have_text("—", timeout=ms(5))

    finished = branch.issue("E")
    page.keyboard.press("Space")
    expect(page.locator("#current-number")).to_have_text(finished["number"], timeout=ms(5))
    page.keyboard.press("f")
    expect(page.locator("#current-number")).to_have_text("—", timeout=ms(5))
    today = branch.teller(6).ok("GET", "/branches/demo/counters/6")["today"]
    assert today["served"] >= 1
    expect(page.locator("#served")).to_have_text(str(today["served"]), timeout=ms(5))

    page.keyboard.press("p")
    page.locator("#pause-form select[name=code]").select_option("meal")  # what the lobby's screens show
    page.locator("#pause-form input[name=reason]").fill("午休")  # the teller's own note, for staff
    page.get_by_role("button", name="暂停 Pause", exact=True).last.click()
    expect(page.locator("#counter-state")).to_have_text("暂停 Paused", timeout=ms(5))
    expect(page.locator("#pause-reason")).to_have_text("午休")
    page.keyboard.press("o")
    expect(page.locator("#counter-state")).to_have_text("开启 Open", timeout=ms(5))

    # A refusal comes back as the command's error, in the server's words.
    # Once the page has drawn the reopened counter (finish disabled), enable and press it in one
    # step: a redraw between the two would disable it again.
    expect(page.locator("[data-action=finish]")).to_be_disabled(timeout=ms(5))
    page.evaluate("(() => { const b = document.querySelector('[data-action=finish]'); "
                  "b.disabled = false; b.click(); })()")
    expect(page.locator("#message")).to_contain_text("nothing to finish", timeout=ms(5))
    page.keyboard.press("c")
    expect(page.locator("#counter-state")).to_have_text("关闭 Closed", timeout=ms(5))

    commands = [m["type"] for m in sent(page) if m["type"].startswith("counter/")]
    for command in ("open", "call_next", "recall", "start", "transfer", "call", "no_show", "finish",
                    "pause", "close"):
        assert f"counter/{command}" in commands, commands
    assert all(m["counter"] == 6 for m in sent(page) if m["type"].startswith("counter/"))
    posts = [url for method, url in page.requests if method == "POST" and "/counters/" in url]
    assert posts == []
    assert page.errors == []


# --- the report page -----------------------------------------------------------------------


def test_the_report_page_takes_the_business_date_from_a_snapshot_not_from_a_report(
    server, branch: Branch, new_page
):
    page = staff_page(new_page, f"{server.base_url}/manage/demo/reports")
    sign_in(page, "manager")
    expect(page.locator("#summary tbody tr").first).to_be_visible(timeout=ms(10))
    summaries = [urlparse(url) for _, url in page.requests if urlparse(url).path.endswith("/reports/summary")]
    assert len(summaries) == 1, summaries
    query = parse_qs(summaries[0].query)
    manager = server.api()
    manager.ok("POST", "/auth/login", {"username": "manager", "password": "demo-pass"})
    today = manager.ok("GET", "/branches/demo/reports/summary")["to"]
    assert query["to"] == [today] and query["from"][0] < today
    assert page.locator("[name=to]").input_value() == today
    hellos = [m for m in sent(page) if m["type"] == "hello"]
    assert [h["role"] for h in hellos] == ["dashboard"]
    assert page.errors == []


# --- the reducer and the orders it mirrors, in the browser ---------------------------------

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@pytest.fixture(scope="module")
def live_js(browser, server):
    """Run ``live.js`` exports in the browser: live_js("(m, arg) => …", arg)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.base_url}/api/v1/health")

    def run(body: str, arg=None):
        return page.evaluate(
            f"async (arg) => {{ const m = await import('/static/common/live.js'); return ({body})(m, arg); }}", arg
        )

    yield run
    context.close()


def random_case(rng: random.Random) -> dict:
    from server.domain.model import CounterMode, GreenRatio, Priority
    from server.domain.policy import Candidate, Profile, ServiceRule

    codes = ["A", "B", "C", "D"]
    rules = {c: ServiceRule(timedelta(minutes=rng.choice([20, 45, 90])) if rng.random() < 0.6 else None)
             for c in codes}
    profile = Profile(
        number=rng.randint(1, 4),
        services=tuple(rng.sample(codes, rng.randint(1, 4))),
        mode=rng.choice(list(CounterMode)),
        green_only=rng.random() < 0.25,
        green_ratio=GreenRatio(rng.randint(1, 3), rng.randint(1, 3)) if rng.random() < 0.5 else None,
    )
    times = [T0 + timedelta(minutes=rng.randint(0, 110), microseconds=rng.randint(0, 999_999))
             for _ in range(5)]
    waiting = [
        Candidate(
            id=ticket_id,
            service=rng.choice(codes),
            priority=Priority.GREEN if rng.random() < 0.3 else Priority.NORMAL,
            queued_at=rng.choice(times),  # shared times: ties broken by id
            head=rng.random() < 0.2,
            counter=rng.randint(1, 4) if rng.random() < 0.15 else None,
        )
        for ticket_id in rng.sample(range(1, 100), rng.randint(0, 12))
    ]
    recent = "".join(rng.choice("gn") for _ in range(rng.randint(0, 5)))
    return {"rules": rules, "profile": profile, "waiting": waiting, "recent": recent,
            "now": T0 + timedelta(minutes=120)}


def to_js(case: dict) -> dict:
    p = case["profile"]
    return {
        "waiting": [
            {"id": c.id, "number": f"{c.service}{c.id:03d}", "service": c.service, "priority": c.priority.value,
             "queued_at": c.queued_at.isoformat(), "issued_at": c.queued_at.isoformat(), "head": c.head,
             "target_counter": c.counter}
            for c in case["waiting"]
        ],
        "profile": {"number": p.number, "services": list(p.services), "mode": p.mode.value,
                    "green_only": p.green_only,
                    "green_ratio": {"green": p.green_ratio.green, "normal": p.green_ratio.normal}
                    if p.green_ratio else None},
        "recent": case["recent"],
        "maxWait": {code: int(r.max_wait.total_seconds()) if r.max_wait else 0 for code, r in case["rules"].items()},
        "now": micros(case["now"]),
    }


def test_the_tellers_call_order_is_the_servers_call_order(live_js):
    from server.domain.model import Priority
    from server.domain.policy import Policy, call_order

    rng = random.Random(20300107)
    cases = [random_case(rng) for _ in range(400)]
    expected = [
        [t.id for t in call_order(
            c["waiting"], Policy(c["profile"], c["rules"]),
            recent=[Priority.GREEN if x == "g" else Priority.NORMAL for x in c["recent"]], now=c["now"],
        )]
        for c in cases
    ]
    got = live_js(
        "(m, cases) => cases.map(c => m.callOrder(c.waiting, c.profile, c).map(t => t.id))",
        [to_js(c) for c in cases],
    )
    mismatches = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
    assert mismatches == [], mismatches[:3]


def test_the_staff_queue_is_kept_in_the_branch_order_read_queue_gives(live_js):
    from server.services.queries import _branch_key

    rng = random.Random(7)
    cases = [random_case(rng) for _ in range(400)]
    expected = [[t.id for t in sorted(c["waiting"], key=_branch_key(c["rules"], c["now"]))] for c in cases]
    got = live_js(
        "(m, cases) => cases.map(c => m.branchOrder(c.waiting, c).map(t => t.id))",
        [to_js(c) for c in cases],
    )
    assert got == expected


# A staff state as a snapshot gives it (its queue entries do not say `head`), and events.

SERVICES = [
    {"code": "A", "names": {"zh-CN": "现金", "en": "Cash"}, "active": True, "waiting": 2, "green_waiting": 1,
     "target_wait_s": 600, "max_wait_s": 1800, "target_service_s": 240},
    {"code": "B", "names": {"zh-CN": "转账汇款", "en": "Transfers"}, "active": True, "waiting": 0,
     "green_waiting": 0, "target_wait_s": 600, "max_wait_s": 0, "target_service_s": 300},
]


def ticket(id_: int, number: str, *, service="A", priority="normal", minute: float, **more) -> dict:
    return {"id": id_, "number": number, "service": service, "priority": priority,
            "green_reason": "elderly" if priority == "green" else None,
            "queued_at": at(minute), "issued_at": at(minute), "waited_s": 0, "target_counter": None, **more}


SERVING = {
    "id": 7, "number": "B007", "service": "B", "priority": "normal", "green_reason": None, "state": "called",
    "issued_at": at(2), "queued_at": at(2), "called_at": at(8), "started_at": None, "finished_at": None,
    "counter": 2, "target_counter": None, "recalls": 1, "transfers": 0,
}

STAFF = {
    "branch": {"id": "demo", "names": {"zh-CN": "演示"}, "timezone": "Asia/Shanghai", "business_date": "2030-01-07"},
    "services": SERVICES,
    "counters": [
        {"number": 1, "names": {}, "state": "open", "services": ["A", "B"], "pause_reason": None,
         "current": None, "staff": "teller1"},
        {"number": 2, "names": {}, "state": "open", "services": ["B", "A"], "pause_reason": None,
         "current": SERVING, "staff": "teller2"},
        {"number": 3, "names": {}, "state": "closed", "services": ["A"], "pause_reason": None,
         "current": None, "staff": None},
    ],
    "calls": [{"seq": 4, "kind": "ticket.called", "at": at(8), "number": "B007", "service": "B", "counter": 2}],
    "queue": [ticket(3, "G001", priority="green", minute=5), ticket(1, "A001", minute=1)],
    "notices": [],
    "devices": [{"id": 9, "name": "kiosk 1", "kind": "kiosk", "status": {}, "last_seen_at": None}],
}


def with_heads(state: dict) -> dict:
    """The state as a snapshot gives it once queue entries say whether they are at the head."""
    state = copy.deepcopy(state)
    for entry in state["queue"]:
        entry["head"] = False
    return state


def event(kind: str, minute: float, /, **data) -> dict:
    return {"seq": 10, "kind": kind, "at": at(minute), "data": data}


def tdata(id_, number, *, service="A", priority="normal", state="waiting", counter=None, **more) -> dict:
    return {"id": id_, "number": number, "service": service, "priority": priority, "state": state,
            "counter": counter, **more}


def apply(live_js, state: dict, ev: dict) -> tuple[bool, dict]:
    out = live_js("(m, [s, e]) => { const ok = m.applyEvent(s, e); return [ok, s]; }", [state, ev])
    return out[0], out[1]


def numbers(state: dict) -> list[str]:
    return [e["number"] for e in state["queue"]]


def counter(state: dict, n: int) -> dict:
    return next(c for c in state["counters"] if c["number"] == n)


def service(state: dict, code: str) -> dict:
    return next(s for s in state["services"] if s["code"] == code)


def test_an_issued_ticket_joins_the_staff_queue_at_the_end_of_its_class(live_js):
    ok, s = apply(live_js, STAFF, event("ticket.issued", 10, **tdata(11, "A002"), ahead=2, estimated_wait_s=60,
                                        device=None))
    assert ok and numbers(s) == ["G001", "A001", "A002"]
    assert s["queue"][-1] == {"id": 11, "number": "A002", "service": "A", "priority": "normal",
                                   "queued_at": at(10), "issued_at": at(10), "head": False,
                                   "target_counter": None, "waited_s": 0}
    assert (service(s, "A")["waiting"], service(s, "A")["green_waiting"]) == (3, 1)
    ok, s = apply(live_js, STAFF, event("ticket.issued", 10, **tdata(12, "G002", priority="green"), ahead=1,
                                        estimated_wait_s=60, device=None))
    assert ok and numbers(s) == ["G001", "G002", "A001"]
    assert (service(s, "A")["waiting"], service(s, "A")["green_waiting"]) == (3, 2)


def test_once_a_ticket_is_overdue_an_issue_reorders_the_queue_or_asks_for_a_snapshot(live_js):
    late = event("ticket.issued", 33, **tdata(11, "A002"), ahead=2, estimated_wait_s=60, device=None)
    ok, _ = apply(live_js, STAFF, late)  # A001 is past A's 30 min: where it goes needs every head
    assert ok is False
    ok, s = apply(live_js, with_heads(STAFF), late)
    assert ok and numbers(s) == ["A001", "G001", "A002"]


def test_a_call_moves_the_ticket_from_the_queue_to_the_counter_as_staff_see_it(live_js):
    state = copy.deepcopy(STAFF)
    counter(state, 1)["recent_calls"] = "gn"
    ok, s = apply(live_js, state, event("ticket.called", 11, **tdata(1, "A001", state="called", counter=1)))
    assert ok and numbers(s) == ["G001"]
    assert counter(s, 1)["current"] == {
        "id": 1, "number": "A001", "service": "A", "priority": "normal", "green_reason": None, "state": "called",
        "issued_at": at(1), "queued_at": at(1), "called_at": at(11), "started_at": None, "finished_at": None,
        "counter": 1, "target_counter": None, "recalls": 0, "transfers": 0,
    }
    assert counter(s, 1)["recent_calls"] == "gnn"
    assert s["calls"][0] == {"seq": 10, "kind": "ticket.called", "at": at(11), "number": "A001", "service": "A",
                             "counter": 1}
    assert service(s, "A")["waiting"] == 1
    ok, _ = apply(live_js, STAFF, event("ticket.called", 11, **tdata(99, "A099", state="called", counter=1)))
    assert ok is False  # a ticket the queue does not hold: fetch the truth


def test_recall_start_finish_and_no_show_follow_the_current_ticket(live_js):
    ok, s = apply(live_js, STAFF, event("ticket.recalled", 9, **tdata(7, "B007", service="B", state="called",
                                                                       counter=2)))
    assert ok and counter(s, 2)["current"]["recalls"] == 2 and s["calls"][0]["kind"] == "ticket.recalled"
    ok, s = apply(live_js, STAFF, event("ticket.started", 9, **tdata(7, "B007", service="B", state="serving",
                                                                      counter=2)))
    assert ok and counter(s, 2)["current"]["state"] == "serving"
    assert counter(s, 2)["current"]["started_at"] == at(9) and counter(s, 2)["current"]["issued_at"] == at(2)
    for kind, state in (("ticket.finished", "done"), ("ticket.no_show", "no_show")):
        ok, s = apply(live_js, STAFF, event(kind, 9, **tdata(7, "B007", service="B", state=state, counter=2)))
        assert ok and counter(s, 2)["current"] is None
    ok, _ = apply(live_js, STAFF, event("ticket.started", 9, **tdata(8, "B008", service="B", state="serving",
                                                                      counter=2)))
    assert ok is False


def transfer(minute=12, *, position="last", **target) -> dict:
    target = target or {"service": "A"}
    svc = target.get("service", "B")
    return event("ticket.transferred", minute, **tdata(7, "B007", service=svc), from_counter=2, position=position,
                 **({"to_counter": target["to_counter"]} if "to_counter" in target else {}))


def test_a_transferred_ticket_leaves_its_counter_and_rejoins_the_queue_where_it_was_placed(live_js):
    ok, s = apply(live_js, STAFF, transfer(position="last"))
    assert ok and counter(s, 2)["current"] is None and numbers(s) == ["G001", "A001", "B007"]
    moved = s["queue"][-1]
    assert (moved["service"], moved["head"], moved["queued_at"], moved["issued_at"]) == ("A", False, at(12), at(2))
    assert (moved["recalls"], moved["transfers"]) == (1, 1)
    assert service(s, "A")["waiting"] == 3
    ok, s = apply(live_js, STAFF, transfer(to_counter=1))
    assert ok and s["queue"][-1]["target_counter"] == 1 and s["queue"][-1]["service"] == "B"
    # "first" and "original" need to know which waiting tickets are at the head already.
    assert apply(live_js, STAFF, transfer(position="first"))[0] is False
    ok, s = apply(live_js, with_heads(STAFF), transfer(position="first"))
    assert ok and numbers(s) == ["G001", "B007", "A001"] and s["queue"][1]["head"] is True
    ok, s = apply(live_js, with_heads(STAFF), transfer(position="original"))
    assert ok and numbers(s) == ["G001", "A001", "B007"] and s["queue"][2]["queued_at"] == at(2)


def test_a_requeue_needs_the_tickets_issue_time_and_target(live_js):
    requeue = event("ticket.requeued", 20, **tdata(5, "A005"), position="last")
    assert apply(live_js, STAFF, requeue)[0] is False
    requeue["data"] |= {"issued_at": at(3), "target_counter": None}
    ok, s = apply(live_js, STAFF, requeue)
    assert ok and numbers(s) == ["G001", "A001", "A005"] and s["queue"][-1]["queued_at"] == at(20)
    assert service(s, "A")["waiting"] == 3


def test_a_cancelled_ticket_leaves_the_queue(live_js):
    ok, s = apply(live_js, STAFF, event("ticket.cancelled", 12, **tdata(3, "G001", priority="green",
                                                                         state="cancelled")))
    assert ok and numbers(s) == ["A001"]
    assert (service(s, "A")["waiting"], service(s, "A")["green_waiting"]) == (1, 0)
    assert apply(live_js, STAFF, event("ticket.cancelled", 12, **tdata(4, "A004", state="cancelled")))[0] is False


def test_an_expiry_needs_the_new_business_date_and_then_starts_the_day_afresh(live_js):
    expired = event("ticket.expired", 60 * 16, id=1, number="A001", service="A", state="expired")
    assert apply(live_js, STAFF, expired)[0] is False
    expired["data"]["business_date"] = "2030-01-08"
    ok, s = apply(live_js, STAFF, expired)
    assert ok and numbers(s) == ["G001"] and service(s, "A")["waiting"] == 1
    assert s["branch"]["business_date"] == "2030-01-08" and s["calls"] == []
    ok, s = apply(live_js, STAFF, event("ticket.expired", 60 * 16, id=7, number="B007", service="B",
                                        state="expired", business_date="2030-01-08"))
    assert ok and counter(s, 2)["current"] is None


def test_counter_events_keep_the_state_and_the_holder(live_js):
    ok, s = apply(live_js, STAFF, event("counter.opened", 1, counter=3, state="open", staff="teller3",
                                        takeover=False))
    assert ok and (counter(s, 3)["state"], counter(s, 3)["staff"]) == ("open", "teller3")
    ok, s = apply(live_js, STAFF, event("counter.opened", 1, counter=2, state="open", staff="manager",
                                        takeover=True))
    assert ok and counter(s, 2)["staff"] == "manager" and counter(s, 2)["current"]["id"] == 7
    ok, s = apply(live_js, STAFF, event("counter.paused", 1, counter=1, state="paused", reason="午休"))
    assert ok and (counter(s, 1)["state"], counter(s, 1)["pause_reason"], counter(s, 1)["staff"]) == (
        "paused", "午休", "teller1")
    ok, s = apply(live_js, STAFF, event("counter.closed", 1, counter=1, state="closed"))
    assert ok and (counter(s, 1)["state"], counter(s, 1)["staff"]) == ("closed", None)
    assert apply(live_js, STAFF, event("counter.closed", 1, counter=42, state="closed"))[0] is False


def test_other_staff_events_change_what_they_say_and_unknown_ticket_kinds_ask_for_a_snapshot(live_js):
    ok, s = apply(live_js, STAFF, event("device.status", 1, device=9, name="kiosk 1", kind="kiosk",
                                        status={"printer": {"online": False}}))
    assert ok and s["devices"][0]["status"] == {"printer": {"online": False}}
    assert apply(live_js, STAFF, event("feedback.given", 1, **tdata(7, "B007", state="done"), score=5))[0] is True
    assert apply(live_js, STAFF, event("ticket.renumbered", 1, **tdata(1, "A001")))[0] is False
    assert apply(live_js, STAFF, event("notice.posted", 1, id=1, level="info"))[0] is False


def test_device_states_are_kept_as_before(live_js):
    display = {"branch": STAFF["branch"], "services": [{"code": "A", "waiting": 2, "green_waiting": 0}],
               "counters": [{"number": 1, "state": "open", "current": None}], "calls": [], "notices": []}
    ok, s = apply(live_js, display, event("ticket.called", 1, number="A001", service="A", state="called", counter=1))
    assert ok and s["counters"][0]["current"] == {"number": "A001", "service": "A", "state": "called"}
    assert s["services"][0]["waiting"] == 1 and s["calls"][0]["number"] == "A001"
    assert apply(live_js, display, event("ticket.expired", 1, number="A001", service="A", state="expired"))[0] is False
    assert apply(live_js, display, event("ticket.renumbered", 1, number="A001"))[0] is True


def test_a_counters_queue_needs_its_policy_only_when_it_would_change_the_order(live_js):
    state = copy.deepcopy(STAFF)
    state["queue"].insert(1, ticket(4, "B004", service="B", minute=0))  # in the branch order
    # Counter 1 (A, B): "ordered" puts A001 first, "longest_wait" B004; green ratio unknown too.
    assert live_js("(m, s) => m.counterQueue(s, 1, m.micros(s.calls[0].at))", state) is None
    profile = {"mode": "ordered", "green_only": False, "green_ratio": None, "recent_calls": ""}
    state["counters"][0] |= profile
    got = live_js("(m, s) => m.counterQueue(s, 1, m.micros(s.calls[0].at)).map(t => t.number)", state)
    assert got == ["G001", "A001", "B004"]
    state["counters"][0] |= {"mode": "longest_wait", "green_ratio": "1:1", "recent_calls": "g"}
    got = live_js("(m, s) => m.counterQueue(s, 1, m.micros(s.calls[0].at)).map(t => t.number)", state)
    assert got == ["B004", "G001", "A001"]
    # Counter 3 serves A alone, and only normal tickets of A wait: nothing unknown matters.
    state["queue"] = [e for e in state["queue"] if e["priority"] == "normal"]
    got = live_js("(m, s) => m.counterQueue(s, 3, m.micros(s.calls[0].at)).map(t => t.number)", STAFF | {
        "queue": state["queue"]})
    assert got == ["A001"]
