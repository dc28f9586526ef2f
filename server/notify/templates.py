"""Message templates per kind and language: the built-in ones, a branch's own, and rendering.

A template is ``{subject?, text}`` with ``{placeholder}`` fields, ``str.format`` style but
only plain names (no ``{a.b}``, ``{a[0]}``, conversions or format specs: a template is
configuration, never code). Each kind has the placeholders it may use (:data:`PLACEHOLDERS`);
a branch's YAML may replace any template (``notifications: templates: called: en: …``) and
is refused at load, with the path of the offending template, when one uses an unknown
placeholder or is longer than its branch's limit. A placeholder with no value renders empty.

Pure: no I/O.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

LANGUAGES = ("zh-CN", "en", "zh-TW")

#: Customers' messages (to the contact they gave) and staff messages (to the staff webhook / e-mail).
CUSTOMER_KINDS = ("booked", "reminder_day", "reminder_hour", "ahead", "called", "transferred", "cancelled_by_branch")
STAFF_KINDS = ("breach", "complaint")
KINDS = CUSTOMER_KINDS + STAFF_KINDS

_BOOKING = frozenset({"branch", "service", "slot", "code", "name", "link"})
#: What each kind's templates may say.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "booked": _BOOKING,
    "reminder_day": _BOOKING,
    "reminder_hour": _BOOKING,
    "cancelled_by_branch": _BOOKING | {"reason"},
    "ahead": frozenset({"branch", "number", "service", "ahead", "name", "link"}),
    "called": frozenset({"branch", "number", "service", "counter", "name"}),
    "transferred": frozenset({"branch", "number", "service", "counter", "name", "link"}),
    "breach": frozenset({"branch", "rule", "service", "counter", "severity", "text"}),
    "complaint": frozenset({"branch", "number", "category", "due", "text"}),
}

SUBJECT_MAX = 120
TEXT_MAX = 1000
"""The longest a template's text may be set to be (``max_length``); SMS gateways split long texts."""


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    subject: str | None = Field(None, min_length=1, max_length=SUBJECT_MAX)
    """The e-mail's subject (the webhook sends it too); default: the text's first line."""
    text: str = Field(min_length=1)


def _t(text: str, subject: str | None = None) -> Template:
    return Template(subject=subject, text=text)


#: kind → language → template.
DEFAULTS: dict[str, dict[str, Template]] = {
    "booked": {
        "zh-CN": _t("{name}您好，您已预约{branch}{service}业务，时间{slot}，预约码{code}。", "预约成功"),
        "en": _t("Hello {name}, your {service} appointment at {branch} is booked for {slot}. Code: {code}.",
                 "Appointment booked"),
        "zh-TW": _t("{name}您好，您已預約{branch}{service}業務，時間{slot}，預約碼{code}。", "預約成功"),
    },
    "reminder_day": {
        "zh-CN": _t("提醒：您明天{slot}在{branch}有{service}预约，预约码{code}。", "预约提醒"),
        "en": _t("Reminder: your {service} appointment at {branch} is tomorrow, {slot}. Code: {code}.",
                 "Appointment tomorrow"),
        "zh-TW": _t("提醒：您明天{slot}在{branch}有{service}預約，預約碼{code}。", "預約提醒"),
    },
    "reminder_hour": {
        "zh-CN": _t("提醒：您的{service}预约在{slot}，请按时到{branch}签到，预约码{code}。", "预约即将开始"),
        "en": _t("Your {service} appointment at {branch} is at {slot}. Please check in on arrival. Code: {code}.",
                 "Appointment soon"),
        "zh-TW": _t("提醒：您的{service}預約在{slot}，請按時到{branch}簽到，預約碼{code}。", "預約即將開始"),
    },
    "cancelled_by_branch": {
        "zh-CN": _t("抱歉，{branch}{slot}的{service}预约已取消：{reason}。请重新预约。", "预约已取消"),
        "en": _t("Sorry, your {service} appointment at {branch} on {slot} is cancelled: {reason}. Please book again.",
                 "Appointment cancelled"),
        "zh-TW": _t("抱歉，{branch}{slot}的{service}預約已取消：{reason}。請重新預約。", "預約已取消"),
    },
    "ahead": {
        "zh-CN": _t("{branch}：您的 {number} 号前面还有 {ahead} 位，请准备前往。", "快到您了"),
        "en": _t("{branch}: {ahead} ahead of ticket {number}. Please make your way to the branch.",
                 "Your turn is coming"),
        "zh-TW": _t("{branch}：您的 {number} 號前面還有 {ahead} 位，請準備前往。", "快到您了"),
    },
    "called": {
        "zh-CN": _t("请 {number} 号到 {counter} 号窗口办理。", "到您了"),
        "en": _t("Ticket {number}, please go to counter {counter}.", "It is your turn"),
        "zh-TW": _t("請 {number} 號到 {counter} 號櫃檯辦理。", "到您了"),
    },
    "transferred": {
        "zh-CN": _t("您的 {number} 号已转到{service}，请留意叫号。", "已为您转办"),
        "en": _t("Ticket {number} has been transferred to {service}; please wait to be called.",
                 "Ticket transferred"),
        "zh-TW": _t("您的 {number} 號已轉到{service}，請留意叫號。", "已為您轉辦"),
    },
    "breach": {
        "zh-CN": _t("{branch}服务标准告警（{severity}）：{text}", "服务标准告警"),
        "en": _t("{branch} service standard breach ({severity}): {text}", "Service standard breach"),
        "zh-TW": _t("{branch}服務標準告警（{severity}）：{text}", "服務標準告警"),
    },
    "complaint": {
        "zh-CN": _t("{branch}收到投诉 {number}（{category}），处理期限 {due}。", "新投诉"),
        "en": _t("{branch} received complaint {number} ({category}), due {due}.", "New complaint"),
        "zh-TW": _t("{branch}收到投訴 {number}（{category}），處理期限 {due}。", "新投訴"),
    },
}


def placeholders(text: str) -> list[str]:
    """The fields ``text`` uses, in order.

    Raises:
        ValueError: a field is not a plain name, has a conversion or format spec, or a brace is unbalanced.
    """
    found = []
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as e:
        raise ValueError(f"not a template: {e} (write a literal brace as {{{{ or }}}})") from None
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(f"{{{shown}}} is not a placeholder: use a plain name such as {{number}}")
        found.append(field)
    return found


def problems_of(kind: str, template: Template, max_length: int) -> list[str]:
    """What is wrong with ``template`` for ``kind`` (empty: nothing)."""
    allowed = PLACEHOLDERS[kind]
    problems = []
    for part, text in (("subject", template.subject), ("text", template.text)):
        if text is None:
            continue
        try:
            unknown = [f for f in placeholders(text) if f not in allowed]
        except ValueError as e:
            problems.append(f"{part}: {e}")
            continue
        if unknown:
            problems.append(f"{part}: unknown placeholder {{{unknown[0]}}}; {kind} may use "
                            + ", ".join("{" + p + "}" for p in sorted(allowed)))
    if len(template.text) > max_length:
        problems.append(f"text: {len(template.text)} characters, more than max_length {max_length}")
    return problems


#: An e-mail address (the same form as a customer's, server/complaint_protocol.py).
STAFF_EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,100}\.[^@\s]{1,20}$"


class StaffRecipients(BaseModel):
    """Who hears of the branch's service-standard breaches and new complaints (nobody by default)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    webhook: bool = False
    """Send them to the webhook too (``audience: staff`` in its body)."""
    email: list[Annotated[str, Field(pattern=STAFF_EMAIL, max_length=120)]] = Field(default_factory=list,
                                                                                    max_length=20)


class NotificationRules(BaseModel):
    """A branch's ``notifications:`` section: its own templates, the longest text, and its staff recipients."""

    model_config = ConfigDict(extra="forbid", strict=True)

    staff: StaffRecipients = Field(default_factory=StaffRecipients)
    max_length: int = Field(500, ge=20, le=TEXT_MAX)
    """The longest a message's text may be (an SMS gateway splits long messages)."""
    templates: dict[str, dict[str, Template]] = Field(default_factory=dict)
    """kind → language → {subject?, text}; anything not given is built in."""

    @model_validator(mode="after")
    def _known(self) -> NotificationRules:
        problems = []
        for kind, by_language in self.templates.items():
            if kind not in PLACEHOLDERS:
                problems.append(f"templates.{kind}: unknown message kind; known: {', '.join(KINDS)}")
                continue
            for language, template in by_language.items():
                if language not in LANGUAGES:
                    problems.append(f"templates.{kind}.{language}: unknown language; use {', '.join(LANGUAGES)}")
                    continue
                problems += [f"templates.{kind}.{language}.{p}" for p in problems_of(kind, template, self.max_length)]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def template_for(kind: str, language: str, rules: Mapping[str, Any] | None, fallback: str = "zh-CN") -> Template:
    """The branch's template of ``kind`` in ``language`` (else the built-in one; else ``fallback``'s)."""
    own = ((rules or {}).get("templates") or {}).get(kind) or {}
    for lang in (language, fallback, "zh-CN"):
        if lang in own:
            return Template.model_validate(own[lang], strict=False)
        if lang in DEFAULTS[kind]:
            return DEFAULTS[kind][lang]
    raise KeyError(kind)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: Template, data: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, text) of ``template`` with ``data`` filled in (a missing value renders empty)."""
    values = _Blank({k: "" if v is None else str(v) for k, v in data.items()})
    text = template.text.format_map(values)
    subject = template.subject.format_map(values) if template.subject else text.splitlines()[0][:SUBJECT_MAX]
    return subject, text
