"""The waiting-area board and the counter-top screen in real Chromium, against a real server."""

from __future__ import annotations

import itertools
import re
import shutil
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.conftest import IN_CI, seconds

from .conftest import Branch, ServerProcess

pytestmark = pytest.mark.slow

MS = 1000


def ms(n: float) -> float:
    return seconds(n) * MS


def board_call(page) -> dict:
    return page.evaluate(
        """() => { const now = document.getElementById('now');
                   return {number: document.getElementById('now-number').textContent,
                           counter: document.getElementById('now-counter').textContent,
                           seq: now.dataset.seq, kind: now.dataset.kind,
                           highlight: now.dataset.highlight,
                           highlighted: now.classList.contains('highlight')}; }"""
    )


def wait_connected(page) -> None:
    expect(page.locator("body")).to_have_attribute("data-status", "connected", timeout=ms(5))


# --- calls ---------------------------------------------------------------------------------


def test_a_call_shows_on_the_board_within_a_second_and_a_recall_highlights_it_again(
    new_page, board_url, branch: Branch
):
    page = new_page(board_url(announce="fast"))
    wait_connected(page)
    branch.teller(3)
    branch.issue("A")

    called = branch.call_next(3)
    expect(page.locator("#now-number")).to_have_text(called["number"], timeout=ms(1))
    expect(page.locator("#now-counter")).to_have_text("3号窗口", timeout=ms(1))
    first = board_call(page)
    assert first["highlighted"] and first["highlight"] == first["seq"]
    assert first["kind"] == "ticket.called"
    expect(page.locator('#desks li[data-counter="3"] .number')).to_have_text(called["number"])
    # A recall while the call is still being spoken is merged into it; this one comes after.
    page.wait_for_function(
        "n => (window.__announcer?.log ?? []).some(e => e.number === n && e.endedAt !== null)",
        arg=called["number"], timeout=ms(10),
    )

    branch.act(3, "recall")
    expect(page.locator("#now")).to_have_attribute("data-kind", "ticket.recalled", timeout=ms(1))
    again = board_call(page)
    assert again["number"] == called["number"]
    assert again["highlighted"] and again["highlight"] == again["seq"] != first["seq"]
    assert page.locator("#now-note").text_content() == "再次呼叫"
    # The recall is announced again, after the call, and the list shows the ticket once.
    page.wait_for_function(
        """n => (window.__announcer?.log ?? []).filter(e => e.number === n).length === 2""",
        arg=called["number"], timeout=ms(10),
    )
    kinds = page.evaluate(
        "n => window.__announcer.log.filter(e => e.number === n).map(e => e.kind)", called["number"]
    )
    assert kinds == ["ticket.called", "ticket.recalled"]
    assert page.locator("#desks li .number", has_text=called["number"]).count() == 1
    assert page.errors == []


def test_the_counter_top_screen_follows_its_counter(new_page, board_url, branch: Branch):
    page = new_page(board_url("/counter/4", lang="en"), width=800, height=480)
    wait_connected(page)
    serving = page.locator("#serving")
    branch.teller(4)
    expect(serving).to_have_attribute("data-state", "idle", timeout=ms(1))
    expect(page.locator("#headline")).to_have_text("Next customer, please wait")
    expect(page.locator("#counter-name")).to_have_text("Counter 4")

    branch.issue("C")
    called = branch.call_next(4)
    expect(serving).to_have_attribute("data-state", "called", timeout=ms(1))
    expect(page.locator("#number")).to_have_text(called["number"])
    branch.act(4, "start")
    expect(serving).to_have_attribute("data-state", "serving", timeout=ms(1))
    expect(page.locator("#number")).to_have_text(called["number"])
    branch.act(4, "pause", {"code": "meal", "reason": "lunch with the area manager"})
    # The fixed reason, in the screen's words; never the teller's own.
    expect(page.locator("#detail")).to_have_text("Paused · Meal break", timeout=ms(1))
    expect(serving).to_have_attribute("data-state", "serving")  # the customer there comes first
    branch.act(4, "finish")
    expect(serving).to_have_attribute("data-state", "paused", timeout=ms(1))
    expect(page.locator("#detail")).to_have_text("Meal break")
    branch.act(4, "close")
    expect(serving).to_have_attribute("data-state", "closed", timeout=ms(1))
    expect(page.locator("#headline")).to_have_text("Closed")
    expect(page.locator("#number")).to_have_text("")
    assert page.errors == []


def test_three_calls_within_100_ms_are_announced_in_order_and_none_is_cut_off(
    new_page, board_url, branch: Branch
):
    page = new_page(board_url(announce="fast"))
    wait_connected(page)
    counters = {2: "B", 5: "D", 6: "E"}  # each counter takes its own service first
    for counter, service in counters.items():
        branch.teller(counter)
        branch.issue(service)

    barrier = threading.Barrier(len(counters))
    started: dict[int, float] = {}
    called: dict[int, dict] = {}

    def call(counter: int) -> None:
        barrier.wait()
        started[counter] = time.monotonic()
        called[counter] = branch.call_next(counter)

    threads = [threading.Thread(target=call, args=(c,)) for c in counters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(started.values()) - min(started.values()) < 0.1
    numbers = {c["number"] for c in called.values()}

    page.wait_for_function(
        """numbers => { const log = window.__announcer?.log ?? [];
                        const ours = log.filter(e => numbers.includes(e.number));
                        return ours.length === numbers.length && ours.every(e => e.endedAt !== null); }""",
        arg=sorted(numbers), timeout=ms(30),
    )
    log = page.evaluate("ns => window.__announcer.log.filter(e => ns.includes(e.number))", sorted(numbers))
    in_seq_order = page.evaluate(
        """ns => window.__board.live.state.calls.filter(c => ns.includes(c.number))
                 .sort((a, b) => a.seq - b.seq).map(c => c.number)""",
        sorted(numbers),
    )
    assert [e["number"] for e in log] == in_seq_order
    assert [e["counter"] for e in log] == [
        next(c for c, t in called.items() if t["number"] == n) for n in in_seq_order
    ]
    first, *rest = log
    assert first["form"] == "full"
    assert first["text"].startswith(f"请 {first['number']} 号到 {first['counter']} 号窗口")
    for entry in rest:  # they waited for the first: a burst, said short
        assert entry["form"] == "short"
        assert entry["text"].startswith(f"{entry['number']} 号，{entry['counter']} 号窗口")
    for entry in log:
        assert [p["lang"] for p in entry["parts"]] == ["zh-CN", "en"]
        for part in entry["parts"]:
            assert part["outcome"] == "ended", part  # played to its end, never cut short
            assert part["startedAt"] <= part["endedAt"]
        if shutil.which("espeak-ng") or IN_CI:
            assert all(p["via"] in ("wav", "speech") for p in entry["parts"])
    for before, after in itertools.pairwise(log):
        assert before["endedAt"] <= after["startedAt"]  # one at a time
    assert page.errors == []


FAKE_VOICES = """(() => {
  // A browser with Mandarin and English voices: each utterance "speaks" for 80 ms.
  const voices = [{lang: 'zh-CN', name: 'fake zh'}, {lang: 'en-US', name: 'fake en'}];
  window.__spoken = [];
  let speaking = null;
  const engine = {
    getVoices: () => voices,
    addEventListener() {},
    cancel() {},
    speak(u) {
      window.__spoken.push({text: u.text, lang: u.lang, overlapped: speaking !== null});
      speaking = u;
      setTimeout(() => { speaking = null; u.onend?.({}); }, 80);
    },
  };
  Object.defineProperty(window, 'speechSynthesis', {value: engine});
  window.SpeechSynthesisUtterance = function (text) { this.text = text; };
})();"""


def test_with_browser_voices_each_language_is_spoken_in_turn(browser, board_url):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        context.add_init_script(FAKE_VOICES)
        page = context.new_page()
        page.goto(board_url(announce="fast", repeats="2"))
        wait_connected(page)
        page.evaluate("""() => { for (const [n, c] of [['A101', 1], ['B102', 2]])
                                   window.__announcer.announce({number: n, counter: c}); }""")
        page.wait_for_function(
            "() => window.__announcer.log.length === 2 && window.__announcer.log[1].endedAt !== null",
            timeout=ms(5),
        )
        spoken = page.evaluate("window.__spoken")
        # The second waited for the first: said once, in the short form.
        assert [s["text"] for s in spoken] == [
            "请A一零一号到1号窗口", "Ticket A 1 0 1, please go to counter 1",
        ] * 2 + ["B一零二号，2号窗口", "B 1 0 2, counter 2"]
        assert not any(s["overlapped"] for s in spoken)
        parts = [p for e in page.evaluate("window.__announcer.log") for p in e["parts"]]
        assert {(p["via"], p["outcome"]) for p in parts} == {("speech", "ended")}
    finally:
        context.close()


BURST = """async () => {
  const { Announcer } = await import('/static/display/announcer.js');
  const a = new Announcer({ branch: 'demo', languages: ['zh-CN', 'en'], repeats: 2, fast: true });
  window.__burst = a;
  for (const [number, counter] of [['A101', 1], ['B102', 2], ['A103', 1], ['B102', 2], ['C104', 3],
                                   ['D105', 4], ['E106', 5], ['A107', 1]]) a.announce({ number, counter });
}"""


def test_a_burst_is_said_short_repeats_merged_and_superseded_calls_dropped(browser, board_url):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        context.add_init_script(FAKE_VOICES)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(board_url(announce="off"))  # the board itself says nothing: only this announcer speaks
        wait_connected(page)
        page.evaluate(BURST)
        page.wait_for_function("() => !window.__burst.busy", timeout=ms(10))
        burst = page.evaluate("({log: __burst.log, merged: __burst.merged, dropped: __burst.dropped})")
        # A103 waited while A107 was called at the same counter: dropped once the backlog passed four.
        assert [e["number"] for e in burst["log"]] == ["A101", "B102", "C104", "D105", "E106", "A107"]
        assert [d["number"] for d in burst["dropped"]] == ["A103"]
        assert [m["number"] for m in burst["merged"]] == ["B102"]  # the repeat of a call still waiting
        assert [e["form"] for e in burst["log"]] == ["full"] + ["short"] * 5
        # The first in full, twice (repeats=2); each later one once.
        assert [len(e["parts"]) for e in burst["log"]] == [4, 2, 2, 2, 2, 2]
        spoken = page.evaluate("window.__spoken")
        assert spoken[4:6] == [{"text": "B一零二号，2号窗口", "lang": "zh-CN", "overlapped": False},
                               {"text": "B 1 0 2, counter 2", "lang": "en-US", "overlapped": False}]
        assert not any(s["overlapped"] for s in spoken)
        assert errors == []
    finally:
        context.close()


def test_the_board_shows_the_call_being_spoken_highlighted_and_every_counter_its_number(
    browser, board_url, branch: Branch
):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        context.add_init_script(FAKE_VOICES)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(board_url(announce="fast"))
        wait_connected(page)
        calls = {}
        for counter, service in {2: "B", 5: "D", 6: "E"}.items():
            branch.teller(counter)
            branch.issue(service)
        for counter in (2, 5, 6):  # one after another, faster than they can be said
            calls[counter] = branch.call_next(counter)["number"]
        page.wait_for_function(
            """ns => { const log = window.__announcer?.log ?? [];
                       return ns.every(n => log.some(e => e.number === n && e.endedAt !== null)); }""",
            arg=list(calls.values()), timeout=ms(15),
        )
        log = page.evaluate("ns => window.__announcer.log.filter(e => ns.includes(e.number))", list(calls.values()))
        shown = {s["seq"]: s for s in page.evaluate("window.__board.shown")}
        for entry in log:  # while each was spoken, the big panel showed that very call, highlighted
            assert shown[entry["seq"]]["number"] == entry["number"]
            assert shown[entry["seq"]]["counter"] == entry["counter"]
            assert shown[entry["seq"]]["highlighted"] is True
        for counter, number in calls.items():  # and every counter's panel its own number, all along
            expect(page.locator(f'#desks li[data-counter="{counter}"] .number')).to_have_text(number)
        expect(page.locator("#now")).not_to_have_class(re.compile(r"\bhighlight\b"))  # quiet again
        assert errors == []
    finally:
        context.close()


def test_the_board_clock_shows_the_branch_time_whatever_the_device_zone(browser, board_url):
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="America/Los_Angeles")
    try:
        page = context.new_page()
        page.goto(board_url(announce="off"))
        wait_connected(page)
        expect(page.locator("#clock-time")).not_to_be_empty()
        shown = page.locator("#clock-time").text_content()
        now = datetime.now(ZoneInfo("Asia/Shanghai"))  # the demo branch's zone
        around = {(now + timedelta(minutes=m)).strftime("%H:%M") for m in (-1, 0, 1)}
        assert shown in around, f"{shown} is not Shanghai's time ({sorted(around)})"
    finally:
        context.close()


def test_without_voices_or_server_speech_the_chime_alone_plays_and_the_queue_goes_on(
    new_page, board_url
):
    page = new_page("about:blank")
    fetched = []

    def no_tts(route):
        fetched.append(route.request.url)
        route.fulfill(status=503, content_type="application/json",
                      body='{"error":{"code":"no_tts","message":"no speech engine"}}')

    page.route("**/announcements/**", no_tts)
    page.goto(board_url(announce="fast"))
    wait_connected(page)
    page.evaluate("""() => { for (const [n, c] of [['A201', 1], ['A202', 2], ['A203', 3]])
                               window.__announcer.announce({number: n, counter: c}); }""")
    page.wait_for_function(
        "() => window.__announcer.log.length === 3 && !window.__announcer.busy", timeout=ms(5)
    )
    log = page.evaluate("window.__announcer.log")
    assert [e["number"] for e in log] == ["A201", "A202", "A203"]
    assert {p["via"] for e in log for p in e["parts"]} == {"none"}
    assert len(fetched) == 1  # one 503 and it stops asking for a while
    assert page.errors == []


def test_an_event_the_display_may_not_see_keeps_its_seq_without_a_resync(new_page, board_url, branch: Branch):
    """A display never sees feedback: it gets a seq-only placeholder, so no gap and no snapshot."""
    sent: list[str] = []
    page = new_page("about:blank")
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    page.goto(board_url(announce="off"))
    wait_connected(page)
    ticket = branch.issue("D")  # counter 5 serves D alone, so it calls this very ticket
    assert branch.call_next(5)["number"] == ticket["number"]
    branch.act(5, "finish")
    branch.public.ok("POST", f"/tickets/{ticket['token']}/feedback", {"score": 5})

    branch.issue("D")
    after = branch.call_next(5)
    expect(page.locator("#now-number")).to_have_text(after["number"], timeout=ms(1))
    assert not any('"type":"snapshot"' in frame.replace(" ", "") for frame in sent), sent
    state = page.evaluate("window.__board.live.state")
    counter5 = next(c for c in state["counters"] if c["number"] == 5)
    assert counter5["current"]["number"] == after["number"]
    assert page.errors == []


def test_a_display_with_a_wrong_token_says_why_instead_of_showing_nothing(new_page, server):
    page = new_page(f"{server.base_url}/display/demo?token=not-a-token&announce=off")
    expect(page.locator("body")).to_have_attribute("data-status", "refused", timeout=ms(5))
    expect(page.locator("#status")).to_contain_text("unknown or revoked device token")
    assert page.errors == []


# --- layout --------------------------------------------------------------------------------

OVERFLOW = """() => {
  const W = window.innerWidth, H = window.innerHeight, outside = [], clipped = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('[hidden]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const name = el.tagName + (el.id ? '#' + el.id : '') + (el.className ? '.' + el.className : '');
    if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5) {
      outside.push(`${name} ${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.right)},${Math.round(r.bottom)}`);
    }
    // Text that matters must show whole: not ellipsised, not cut by a clipping ancestor.
    if (!el.matches('.number, .counter-name, .service-name, .count, .branch-name, .headline, .label')
        || !el.textContent) continue;
    const style = getComputedStyle(el);
    if ((style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) ||
        (style.overflowY !== 'visible' && el.scrollHeight > el.clientHeight + 1)) {
      clipped.push(`${name} "${el.textContent}" ${el.scrollWidth}x${el.scrollHeight}`
                   + ` in ${el.clientWidth}x${el.clientHeight}`);
    }
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const b = a.getBoundingClientRect();
      if (r.left < b.left - 1 || r.top < b.top - 1 || r.right > b.right + 1 || r.bottom > b.bottom + 1) {
        clipped.push(`${name} "${el.textContent}" cut by ${a.tagName}.${a.className}`);
      }
      break;
    }
  }
  const doc = document.documentElement;
  return {outside, clipped, scroll: [doc.scrollWidth, doc.scrollHeight], viewport: [W, H]};
}"""


@pytest.fixture(scope="module")
def busy_branch(branch: Branch) -> Branch:
    """Enough calls to fill every list on the board."""
    branch.teller(3)
    for _ in range(10):
        branch.issue("A")
    for _ in range(9):
        branch.call_next(3)
    branch.issue("A")
    branch.issue("C")
    return branch


LONGEST = """() => {
  // Past 999 a number grows (A1000); counters can run into two digits.
  const state = window.__board.live.state;
  state.calls.forEach((c, i) => { c.number = 'W' + (1000 + i); c.counter = 10 + i; });
  state.counters.forEach(c => { c.names = {'zh-CN': `${c.number + 10}号窗口`, en: `Counter ${c.number + 10}`,
                                           'zh-TW': `${c.number + 10}號櫃檯`}; });
  state.counters.push(...state.calls.map(c => ({number: c.counter, names: {en: `Counter ${c.counter}`,
    'zh-CN': `${c.counter}号窗口`, 'zh-TW': `${c.counter}號櫃檯`}, state: 'open', current: null})));
  state.counters.forEach(c => { if (c.current) c.current.number = 'W' + (1990 + c.number); });
  state.services.forEach(s => { s.waiting = 188; s.green_waiting = 12; });
  window.__board.render();
}"""


@pytest.mark.parametrize("width,height", [(1920, 1080), (1080, 1920)])
@pytest.mark.parametrize(
    "path,lang",
    [("", "zh-CN"), ("", "en"), ("", "zh-TW"), ("", "en+longest"), ("/counter/3", "zh-CN")],
)
def test_the_screen_fits_without_overflow(
    new_page, board_url, busy_branch, tmp_path, path, lang, width, height
):
    lang, _, longest = lang.partition("+")
    page = new_page(board_url(path, lang=lang, announce="off"), width=width, height=height)
    wait_connected(page)
    if not path:
        expect(page.locator("#desks li").first).to_be_visible()
    else:
        expect(page.locator("#serving")).to_have_attribute("data-state", "called")
    if longest:
        page.evaluate(LONGEST)
        expect(page.locator("#now-number")).to_have_text("W1000")
    page.screenshot(path=tmp_path / f"display{path.replace('/', '-')}-{lang}{longest}-{width}x{height}.png")
    report = page.evaluate(OVERFLOW)
    assert report["outside"] == []
    assert report["clipped"] == [], "\n".join(report["clipped"])
    assert report["scroll"] == report["viewport"] == [width, height]
    assert page.errors == []


# --- outages -------------------------------------------------------------------------------


def test_after_a_server_restart_the_board_says_reconnecting_then_shows_the_same_state_unreloaded(
    new_page, tmp_path
):
    server = ServerProcess(tmp_path)
    server.start()
    try:
        demo = Branch(server)
        for service in "AAB":
            demo.issue(service)
        first = demo.call_next(3)
        page = new_page(f"{server.base_url}/display/demo?token=demo-display&announce=off")
        wait_connected(page)
        expect(page.locator("#now-number")).to_have_text(first["number"])
        page.evaluate("window.__sameDocument = true")
        before = board_text(page)
        assert "token=" not in page.url  # the token left the address bar

        server.stop()
        expect(page.locator("body")).to_have_attribute("data-status", "reconnecting", timeout=ms(8))
        expect(page.locator("#status")).to_have_text("连接中断，正在重新连接…")
        assert board_text(page) == before  # the last state stays up, dimmed

        server.start()
        expect(page.locator("body")).to_have_attribute("data-status", "connected", timeout=ms(15))
        expect(page.locator("#status")).to_have_text("")
        assert page.evaluate("window.__sameDocument") is True
        assert board_text(page) == before

        second = demo.call_next(3)  # the new socket is live
        expect(page.locator("#now-number")).to_have_text(second["number"], timeout=ms(1))
        assert page.errors == []
    finally:
        server.stop()


def board_text(page) -> dict:
    return page.evaluate(
        """() => Object.fromEntries(['branch-name', 'now-number', 'now-counter', 'desks', 'services']
                 .map(id => [id, document.getElementById(id).innerText]))"""
    )
