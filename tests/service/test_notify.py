"""Notifications at the handler level: the outbox, the worker's schedule, templates, wishes and hooks.

The worker runs against a fake backend (a list of what was sent, failing when told to) and the
test's clock: time is moved, never slept. Real SMTP and webhook deliveries are in
tests/integration/test_notify_delivery.py.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from server import notify
from server.domain.errors import InvalidConfig
from server.notify.backends import DeliveryFailed, Outgoing
from server.notify.backoff import delay_s
from server.notify.models import Contact, NotifyWish
from server.notify.templates import DEFAULTS, KINDS, LANGUAGES, PLACEHOLDERS, placeholders, render, template_for
from server.notify.worker import Policy, Worker
from server.services import branches, counters, notifications
from server.store import outbox

EMAIL = Contact(name="张三", email="zhang@example.com")
PHONE = Contact(phone="13812345678")


class FakeBackend:
    """Remembers what it sent; fails while ``down``."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.tries = 0
        self.down = False

    async def send(self, message: Outgoing) -> None:
        self.tries += 1
        if self.down:
            raise DeliveryFailed("gateway answered 503")
        self.sent.append(message)

    async def close(self) -> None:
        return None


def worker_of(world, backend: FakeBackend | None = None, **policy) -> tuple[Worker, FakeBackend]:
    backend = backend or FakeBackend()
    settings = {"max_attempts": 4, "backoff_s": 10.0, "backoff_max_s": 60.0, "timeout_s": 1.0} | policy
    worker = Worker(world.app.db, world.app.vault, {"email": backend, "webhook": backend},
                    policy=Policy(**settings), clock=world.clock, rng=random.Random(7))
    return worker, backend


async def put(world, key: str = "k1", *, kind: str = "called", contact: Contact = EMAIL, **extra) -> bool:
    async with world.app.unit_of_work("demo") as tx:
        return await notify.enqueue(tx, kind=kind, branch_id="demo", contact=contact, language=extra.pop(
            "language", "en"), data=extra.pop("data", {"number": "A001", "counter": 3}), key=key, **extra)


async def row(world, key: str):
    async with world.app.db.read() as conn:
        return await outbox.message_by_key(conn, key)


# --- the outbox ------------------------------------------------------------------------------


async def test_a_key_enqueued_twice_is_one_message_and_the_second_enqueue_says_so(world):
    assert await put(world, "same") is True
    assert await put(world, "same") is False
    worker, backend = worker_of(world)
    await worker.run_once()
    await worker.run_once()
    assert [m.key for m in backend.sent] == ["same"]


async def test_the_recipient_is_stored_sealed_never_in_clear_and_erased_once_delivered(world):
    await put(world)
    stored = await row(world, "k1")
    assert "zhang@example.com" not in stored.recipient and "张三" not in stored.recipient
    assert world.app.vault.open(stored.recipient) == {"name": "张三", "email": "zhang@example.com"}
    worker, backend = worker_of(world)
    await worker.run_once()
    assert backend.sent[0].contact["email"] == "zhang@example.com"
    assert (await row(world, "k1")).recipient is None, "once delivered, the contact is erased"


async def test_a_message_rolled_back_with_its_use_case_is_never_sent(world):
    with pytest.raises(RuntimeError):
        async with world.app.unit_of_work("demo") as tx:
            await notify.enqueue(tx, kind="called", branch_id="demo", contact=EMAIL, language="en",
                                 data={}, key="lost")
            raise RuntimeError("the use case failed after enqueueing")
    assert await row(world, "lost") is None


async def test_the_channel_is_email_for_an_address_and_the_webhook_for_a_phone_or_staff(world):
    assert notify.channel_for("called", EMAIL) == "email"
    assert notify.channel_for("called", PHONE) == "webhook"
    assert notify.channel_for("breach", Contact()) == "webhook"
    with pytest.raises(ValueError):
        notify.channel_for("called", Contact(name="nobody"))


@pytest.mark.parametrize("bad", [{"kind": "spam"}, {"language": "fr"}, {"key": ""}, {"key": "k" * 201}])
async def test_enqueue_refuses_a_caller_mistake_and_writes_nothing(world, bad):
    fields = {"kind": "called", "language": "en", "key": "k"} | bad
    with pytest.raises(ValueError):
        async with world.app.unit_of_work("demo") as tx:
            await notify.enqueue(tx, branch_id="demo", contact=EMAIL, data={}, **fields)
    async with world.app.db.read() as conn:
        assert not await outbox.messages(conn)


async def test_a_reminder_is_not_sent_before_its_time(world):
    await put(world, "later", kind="reminder_hour", send_at=world.clock() + timedelta(hours=2))
    worker, backend = worker_of(world)
    await worker.run_once()
    assert backend.sent == []
    world.clock.advance(hours=2)
    await worker.run_once()
    assert [m.kind for m in backend.sent] == ["reminder_hour"]


# --- the worker's schedule -------------------------------------------------------------------


def test_the_backoff_doubles_up_to_its_cap_with_at_most_half_taken_off_by_jitter():
    rng = random.Random(1)
    for attempt, full in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
        for _ in range(50):
            wait = delay_s(attempt, base_s=10, max_s=60, rng=rng)
            assert full / 2 <= wait <= full
    waits = {round(delay_s(3, base_s=10, max_s=60, rng=rng), 3) for _ in range(20)}
    assert len(waits) > 10, "the jitter spreads processes' retries"


async def test_a_failed_delivery_is_retried_on_the_backoff_schedule_and_sent_once_the_gateway_returns(world):
    await put(world, "retry", contact=PHONE)
    worker, backend = worker_of(world)
    backend.down = True
    await worker.run_once()
    first = await row(world, "retry")
    assert first.state == "pending" and first.attempts == 1 and "503" in first.last_error
    wait = (first.next_attempt_at - world.clock()).total_seconds()
    assert 5 <= wait <= 10
    world.clock.advance(seconds=wait - 1)
    await worker.run_once()
    assert backend.tries == 1, "not tried again before its time"
    world.clock.advance(seconds=1)
    await worker.run_once()
    second = await row(world, "retry")
    assert second.attempts == 2 and 10 <= (second.next_attempt_at - world.clock()).total_seconds() <= 20
    backend.down = False
    world.clock.advance(seconds=20)
    await worker.run_once()
    world.clock.advance(hours=1)
    await worker.run_once()
    done = await row(world, "retry")
    assert done.state == "sent" and done.sent_at == world.clock() - timedelta(hours=1)
    assert len(backend.sent) == 1 and backend.tries == 3


async def test_after_the_last_attempt_a_message_is_a_dead_letter_listed_and_retried_by_the_admin(world):
    await put(world, "doomed")
    worker, backend = worker_of(world, max_attempts=3)
    backend.down = True
    for _ in range(5):
        await worker.run_once()
        world.clock.advance(minutes=5)
    dead = await row(world, "doomed")
    assert dead.state == "dead" and dead.attempts == 3 and backend.tries == 3
    admin = await world.staff("admin")
    seen = await notifications.overview(world.app, admin, state="dead")
    assert [m.key for m in seen.messages] == ["doomed"]
    assert seen.messages[0].recipient == "z***@example.com"
    assert [(c.kind, c.dead, c.rate) for c in seen.counts] == [("called", 1, 0.0)]
    backend.down = False
    again = await notifications.retry(world.app, admin, dead.id)
    assert again.state == "pending" and again.attempts == 0
    await worker.run_once()
    assert (await row(world, "doomed")).state == "sent"
    await world.refused("already_sent", lambda: notifications.retry(world.app, admin, dead.id))
    await world.refused("not_found", lambda: notifications.retry(world.app, admin, 99999))


async def test_only_the_admin_sees_the_outbox(world):
    manager = await world.staff("manager")
    await world.refused("forbidden", lambda: notifications.overview(world.app, manager))


async def test_a_channel_the_server_has_not_configured_keeps_its_messages_pending_and_says_why(world):
    await put(world, "nowhere", contact=PHONE)
    backend = FakeBackend()
    worker = Worker(world.app.db, world.app.vault, {"email": backend}, clock=world.clock)
    await worker.run_once()
    assert backend.tries == 0
    world.app.notify_channels = frozenset({"email"})
    seen = await notifications.overview(world.app, await world.staff("admin"))
    assert seen.channels == {"email": True, "webhook": False}
    assert seen.messages[0].state == "pending" and "BRANCHQ_WEBHOOK_URL" in seen.messages[0].undeliverable


# --- templates -------------------------------------------------------------------------------


def test_every_kind_has_a_built_in_template_in_every_language_using_only_its_placeholders():
    for kind in KINDS:
        for language in LANGUAGES:
            template = DEFAULTS[kind][language]
            used = placeholders(template.text) + placeholders(template.subject or "")
            assert set(used) <= PLACEHOLDERS[kind], (kind, language)


def test_the_built_in_traditional_chinese_is_the_reviewed_draft_of_the_simplified():
    from scripts.zh_tw import draft

    for kind, by_language in DEFAULTS.items():
        simplified, traditional = by_language["zh-CN"], by_language["zh-TW"]
        assert traditional.text == draft(simplified.text), kind
        assert traditional.subject == draft(simplified.subject or ""), kind


@pytest.mark.parametrize(("language", "expected"), [
    ("zh-CN", "请 A023 号到 3 号窗口办理。"),
    ("en", "Ticket A023, please go to counter 3."),
    ("zh-TW", "請 A023 號到 3 號櫃檯辦理。"),
])
def test_the_called_message_speaks_the_customers_language(language, expected):
    subject, text = render(template_for("called", language, None), {"number": "A023", "counter": 3})
    assert text == expected and subject


def test_a_branch_template_replaces_the_built_in_one_and_a_missing_language_falls_back():
    rules = {"templates": {"called": {"en": {"text": "{number} to desk {counter}, {branch}"}}}}
    assert render(template_for("called", "en", rules), {"number": "A1", "counter": 2, "branch": "Demo"})[1] == \
        "A1 to desk 2, Demo"
    assert render(template_for("called", "zh-TW", rules), {"number": "A1", "counter": 2})[1].startswith("請")


async def test_the_worker_renders_in_the_messages_language_with_the_branchs_name(world):
    await put(world, "zh", language="zh-CN", kind="ahead", data={"number": "A005", "ahead": 2, "service": "现金"})
    worker, backend = worker_of(world)
    await worker.run_once()
    assert backend.sent[0].text == "演示支行：您的 A005 号前面还有 2 位，请准备前往。"
    assert backend.sent[0].contact["email"] == "zhang@example.com"


DOC = """
id: demo2
names: {zh-CN: 二号, en: Two}
notifications:
  max_length: 40
  templates:
%s
"""


@pytest.mark.parametrize(("templates", "problem"), [
    ("    called: {en: {text: 'Go to {desk}'}}", "templates.called.en.text: unknown placeholder {desk}"),
    ("    called: {en: {text: '%s'}}" % ("x" * 41), "templates.called.en.text: 41 characters, more than max_length 40"),
    ("    called: {en: {text: '{number.__class__}'}}", "is not a placeholder"),
    ("    called: {en: {text: 'open {brace'}}", "not a template"),
    ("    spam: {en: {text: 'hi'}}", "templates.spam: unknown message kind"),
    ("    called: {fr: {text: 'hi'}}", "templates.called.fr: unknown language"),
    ("    called: {en: {text: 'hi', colour: red}}", "colour"),
])
def test_a_bad_template_in_the_branch_yaml_is_refused_at_load_with_its_path(templates, problem):
    with pytest.raises(InvalidConfig) as refused:
        branches.load_yaml(DOC % templates)
    found = "; ".join(f"{path}: {message}" for path, message in refused.value.problems)
    assert problem in found and "notifications" in found


def test_good_templates_load_and_survive_the_round_trip_through_yaml():
    spec = branches.load_yaml(DOC % "    called: {en: {subject: 'Your turn', text: '{number} to {counter}'}}")
    again = branches.load_yaml(branches.dump_yaml(spec))
    assert again.notifications == spec.notifications
    assert again.notifications.templates["called"]["en"].subject == "Your turn"


# --- the customer's wish and the counter's hooks ------------------------------------------------


async def test_a_customer_who_asked_hears_n_ahead_once_then_called_with_the_counter(world):
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    issued = [await world.issue("A") for _ in range(5)]
    mine = issued[4]
    answer = await notifications.ask_to_notify(world.app, mine.token, NotifyWish(
        phone="13812345678", ahead=2, consent=True, language="en"))
    assert answer.contact == "138****5678" and answer.channel == "webhook"
    worker, backend = worker_of(world)
    await worker.run_once()
    assert backend.sent == [], "4 ahead: not yet"
    for _ in range(2):
        world.clock.advance(seconds=60)
        await counters.call_next(world.app, teller, "demo", 3)
    await worker.run_once()
    assert [(m.kind, m.data["ahead"]) for m in backend.sent] == [("ahead", 2)]
    assert "2 ahead of ticket " + mine.number in backend.sent[0].text
    for _ in range(3):
        world.clock.advance(seconds=60)
        await counters.call_next(world.app, teller, "demo", 3)
    await worker.run_once()
    assert [m.kind for m in backend.sent] == ["ahead", "called"]
    assert backend.sent[1].text == f"Ticket {mine.number}, please go to counter 3."
    assert backend.sent[1].contact == {"phone": "13812345678"}


async def test_a_ticket_far_back_in_a_long_queue_hears_n_ahead_exactly_when_it_gets_there(world):
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    issued = [await world.issue("A") for _ in range(30)]
    await world.issue("A", priority="green", green_reason="elderly")
    await notifications.ask_to_notify(world.app, issued[-1].token, NotifyWish(email="a@example.com", ahead=20,
                                                                               consent=True, language="en"))
    worker, backend = worker_of(world)
    heard_after = None
    for calls in range(1, 12):
        world.clock.advance(seconds=60)
        await counters.call_next(world.app, teller, "demo", 3)
        await worker.run_once()
        if backend.sent and heard_after is None:
            heard_after = calls
    # 29 normal tickets and one green ahead: the green goes first, then 9 more make it 20.
    assert heard_after == 10
    assert [(m.kind, m.data["ahead"]) for m in backend.sent] == [("ahead", 20)]


async def test_a_wish_made_with_few_ahead_already_is_told_at_once(world):
    first = await world.issue("A")
    mine = await world.issue("A")
    await notifications.ask_to_notify(world.app, mine.token, NotifyWish(email="a@example.com", ahead=3,
                                                                         consent=True))
    worker, backend = worker_of(world)
    await worker.run_once()
    assert [(m.kind, m.language, m.data["ahead"]) for m in backend.sent] == [("ahead", "zh-CN", 1)]
    assert first.number != mine.number


async def test_a_transferred_ticket_tells_its_holder_where_it_went(world):
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    mine = await world.issue("A")
    await notifications.ask_to_notify(world.app, mine.token, NotifyWish(email="a@example.com", ahead=1,
                                                                         consent=True, language="en"))
    await counters.call_next(world.app, teller, "demo", 3)
    from server.protocol import Transfer
    await counters.transfer(world.app, teller, "demo", 3, Transfer(service="C"))
    worker, backend = worker_of(world)
    await worker.run_once()
    kinds = [m.kind for m in backend.sent]
    assert kinds[:2] == ["ahead", "called"] and "transferred" in kinds
    transferred = next(m for m in backend.sent if m.kind == "transferred")
    assert "transferred to Accounts" in transferred.text


async def test_a_ticket_that_no_longer_waits_cannot_ask_and_nothing_is_stored(world):
    teller = await world.staff("teller3")
    await counters.open_counter(world.app, teller, "demo", 3)
    mine = await world.issue("A")
    await counters.call_next(world.app, teller, "demo", 3)
    wish = NotifyWish(email="a@example.com", ahead=1, consent=True)
    await world.refused("not_waiting", lambda: notifications.ask_to_notify(world.app, mine.token, wish))
    await world.refused("not_found", lambda: notifications.ask_to_notify(world.app, "no-such-token-xx", wish))


@pytest.mark.parametrize("body", [
    {"ahead": 3, "consent": True},
    {"email": "a@example.com", "ahead": 0, "consent": True},
    {"email": "a@example.com", "ahead": 21, "consent": True},
    {"email": "a@example.com", "ahead": 3, "consent": False},
    {"email": "a@example.com", "ahead": 3},
    {"email": "not-an-address", "ahead": 3, "consent": True},
    {"phone": "call me", "ahead": 3, "consent": True},
])
def test_a_wish_needs_a_valid_contact_an_n_of_1_to_20_and_consent(body):
    with pytest.raises(ValueError):
        NotifyWish.model_validate(body)


# --- staff messages ----------------------------------------------------------------------------


async def test_a_new_complaint_is_told_to_the_staff_the_branch_names_without_the_customers_words(world):
    from server.complaint_protocol import StaffComplaintIn
    from server.notify.templates import NotificationRules, StaffRecipients
    from server.services import complaints

    staff = NotificationRules(staff=StaffRecipients(webhook=True, email=["manager@bank.example"]))
    await branches.change_config(world.app, "demo", lambda spec: spec.model_copy(update={"notifications": staff}))
    manager = await world.staff("manager")
    created = await complaints.enter_complaint(world.app, manager, "demo", StaffComplaintIn.model_validate(
        {"channel": "hotline", "category": "fees", "text": "charged twice for 13812345678",
         "contact": {"name": "张三", "phone": "13812345678"}}))
    worker, backend = worker_of(world)
    await worker.run_once()
    assert sorted((m.kind, m.contact.get("email") or "") for m in backend.sent) == [
        ("complaint", ""), ("complaint", "manager@bank.example")]
    for message in backend.sent:
        assert created.number in message.text and "13812345678" not in message.text + str(message.data)
        assert message.data["audience"] == "staff"


async def test_without_staff_recipients_a_complaint_writes_no_message(world):
    from server.complaint_protocol import StaffComplaintIn
    from server.services import complaints

    manager = await world.staff("manager")
    await complaints.enter_complaint(world.app, manager, "demo", StaffComplaintIn.model_validate(
        {"channel": "hotline", "category": "fees", "text": "x", "contact": {"name": "张三", "phone": "13812345678"}}))
    async with world.app.db.read() as conn:
        assert not await outbox.messages(conn)


def test_staff_recipients_in_the_yaml_are_checked_e_mail_addresses():
    with pytest.raises(InvalidConfig) as refused:
        branches.load_yaml(DOC.replace("  templates:\n%s\n", "  staff: {email: [not-an-address]}\n"))
    assert "notifications.staff.email[0]" in "; ".join(path for path, _ in refused.value.problems)


async def test_retention_drops_wishes_the_next_day_and_the_contacts_of_messages_never_delivered(world):
    from server.services.retention import erase_expired

    mine = await world.issue("A")
    await notifications.ask_to_notify(world.app, mine.token, NotifyWish(email="a@example.com", ahead=1,
                                                                         consent=True))
    await put(world, "stuck", contact=PHONE)  # nothing configured for it: pending
    world.clock.advance(days=2)
    erased = await erase_expired(world.app, days=1)
    assert (erased.notify_wishes, erased.notify_contacts) == (1, 2)
    async with world.app.db.read() as conn:
        assert await outbox.wish_of(conn, mine.id) is None
        stuck = await outbox.message_by_key(conn, "stuck")
    assert stuck.recipient is None and stuck.state == "dead" and "retention" in stuck.last_error


async def test_a_breach_is_told_to_the_staff_webhook_once_however_often_it_is_evaluated(world):
    from server.notify.templates import NotificationRules, StaffRecipients
    from server.services import standards

    staff = NotificationRules(staff=StaffRecipients(webhook=True))
    await branches.change_config(world.app, "demo", lambda spec: spec.model_copy(update={"notifications": staff}))
    teller = await world.staff("teller5")
    await counters.open_counter(world.app, teller, "demo", 5)
    await world.issue("D")
    await world.issue("D")
    await counters.call_next(world.app, teller, "demo", 5)
    world.clock.advance(minutes=16)
    for _ in range(3):
        await standards.evaluate(world.app, "demo")
    worker, backend = worker_of(world)
    await worker.run_once()
    assert sorted(m.data["rule"] for m in backend.sent) == ["service_target", "wait_target"]
    assert all(m.kind == "breach" and m.contact == {} and m.data["audience"] == "staff" for m in backend.sent)
    assert any("Service standard" in m.subject or "服务标准" in m.subject for m in backend.sent)
