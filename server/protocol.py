"""Wire models: HTTP bodies and answers, shared with the Python device clients.

One definition of the protocol: the server validates requests with these
models and builds its answers from them; the kiosk agent and terminal client
parse with them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    create_model,
    field_validator,
    model_validator,
)

from server.domain import events
from server.domain.model import (
    CounterState,
    GreenReason,
    Priority,
    TicketState,
    TransferPosition,
)


class Unsaid(enum.Enum):
    """The sender did not say (an ``expect`` left out, as against one sent as null)."""

    UNSAID = "unsaid"


UNSAID = Unsaid.UNSAID

ServiceCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}$")]
ShortText = Annotated[str, StringConstraints(max_length=200)]
#: A kiosk's ``Idempotency-Key``: 1–128 printable ASCII characters (a UUID will do), neither
#: beginning nor ending with a space (HTTP would strip it, and the retry would not match).
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[!-~](?:[ -~]{0,126}[!-~])?$")]


def has_nul(value: object) -> bool:
    """Whether any text in ``value`` (keys included, at any depth) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class Body(BaseModel):
    """A request body: unknown fields are refused, so typos never pass silently.

    Text may not hold NUL characters, which PostgreSQL cannot store.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        if has_nul(data):
            raise ValueError("text may not contain NUL characters")
        return data


class Answer(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- requests -----------------------------------------------------------------


class Login(Body):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class IssueTicket(Body):
    # The rule of _green_needs_reason, as the OpenAPI document states it.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": ["priority", "green_reason"],
         "properties": {"priority": {"const": "green"}, "green_reason": {"type": "string"}}},
        {"properties": {"priority": {"const": "normal"}, "green_reason": {"type": "null"}}},
    ]})

    service: ServiceCode
    priority: Priority = Priority.NORMAL
    green_reason: GreenReason | None = None
    language: Literal["zh-CN", "en", "zh-TW"] | None = None
    """The language the customer chose at the kiosk: the printed ticket speaks it."""

    @model_validator(mode="after")
    def _green_needs_reason(self) -> IssueTicket:
        if self.priority is Priority.GREEN and self.green_reason is None:
            raise ValueError("a green-channel ticket needs green_reason")
        if self.priority is Priority.NORMAL and self.green_reason is not None:
            raise ValueError("green_reason is only for green-channel tickets")
        return self


TicketId = Annotated[int, Field(ge=-(2**62), le=2**62)]  # beyond any database id: refused, not a crash


class CounterStep(Body):
    """What every counter command may carry: the ticket the sender believes is current.

    ``expect`` is a ticket id, or null for a free counter. When it no longer matches, the
    command changes nothing and is refused as ``stale`` with the counter as it is now, so a
    second press of the same key never acts twice. Left out, the command is taken as sent.
    """

    expect: TicketId | None = None

    @property
    def expected(self) -> int | None | Unsaid:
        """``expect``, or :data:`UNSAID` when the sender did not say."""
        return self.expect if "expect" in self.model_fields_set else UNSAID


PauseCode = Literal["break", "meal", "meeting", "cash", "system", "other"]
"""Why a counter pauses, in words every public screen translates (the teller's own words stay on staff screens)."""


class PauseCounter(CounterStep):
    code: PauseCode | None = None
    reason: ShortText | None = None
    """The teller's own words, for staff screens only."""


class CallTicket(CounterStep):
    ticket: TicketId | Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}[0-9]{3,5}$")]
    """The ticket's id, or its number today (``A023``)."""


class Transfer(CounterStep):
    # The rule of _one_target, as the OpenAPI document states it.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": ["service"], "properties": {"service": {"type": "string"}}},
        {"required": ["counter"], "properties": {"counter": {"type": "integer"}}},
    ]})

    service: ServiceCode | None = None
    counter: Annotated[int, Field(ge=1, le=9999)] | None = None
    position: TransferPosition = TransferPosition.LAST

    @model_validator(mode="after")
    def _one_target(self) -> Transfer:
        if (self.service is None) == (self.counter is None):
            raise ValueError("give exactly one of service or counter")
        return self


class Requeue(Body):
    position: TransferPosition = TransferPosition.LAST


class ChangeService(Body):
    """The lobby manager moves a waiting ticket to another service; it keeps its number."""

    service: ServiceCode


class RatingPromptIn(Body):
    """The evaluator asked the customer of this ticket (the one just finished at its counter)."""

    number: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}[0-9]{3,5}$")]


class FeedbackIn(Body):
    score: Annotated[int, Field(ge=1, le=5)]
    tags: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=32)]],
        Field(max_length=10),
    ] = []
    comment: Annotated[str, StringConstraints(max_length=500)] = ""


class Empty(Body):
    pass


# --- answers ------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorAnswer(BaseModel):
    error: ErrorDetail


class Health(Answer):
    status: Literal["ok"]
    database: str
    version: str


class StaffAnswer(Answer):
    id: int
    username: str
    display_name: str
    role: str
    branch: str | None
    counters: list[int]


class SessionAnswer(Answer):
    id: str
    """The first 16 hex digits of the session's id: enough to end it, not to use it."""
    current: bool
    created_at: str
    last_seen_at: str
    expires_at: str
    address: str
    user_agent: str


class ServiceAnswer(Answer):
    code: str
    names: dict[str, str]
    waiting: int
    estimated_wait_s: int | None
    """None when no counter serving it is open (``no_counter_open``): no estimate, not "no wait"."""
    no_counter_open: bool = False
    open_counters: int
    target_wait_s: int
    green_allowed: bool
    available: bool
    unavailable_reason: str | None = None
    opens_at: datetime | None = None
    """When closed (``unavailable_reason`` "closed"): when it can next be taken, in the branch's zone."""


class TicketIssued(Answer):
    id: int
    token: str
    number: str
    service: str
    priority: Priority
    state: TicketState
    issued_at: datetime
    ahead: int
    estimated_wait_s: int | None
    """None when no counter serving the ticket was open (``no_counter_open``)."""
    no_counter_open: bool = False


class TicketAnswer(Answer):
    """A ticket as staff see it."""

    id: int
    number: str
    service: str
    priority: Priority
    green_reason: GreenReason | None
    state: TicketState
    issued_at: datetime
    queued_at: datetime
    called_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    counter: int | None
    target_counter: int | None
    recalls: int
    transfers: int
    appointment: datetime | None = None
    """A checked-in appointment: its slot's start (the teller sees it is one, and for when)."""


class QueueEntry(Answer):
    id: int
    number: str
    service: str
    priority: Priority
    green_reason: GreenReason | None
    queued_at: datetime
    issued_at: datetime
    waited_s: int
    target_counter: int | None
    head: bool = False
    """Transferred to the head of its queue."""
    recalls: int = 0
    transfers: int = 0
    appointment: datetime | None = None
    """A checked-in appointment: its slot's start."""


class QueueAnswer(Answer):
    branch: str
    counter: int | None
    tickets: list[QueueEntry]


class CounterAnswer(Answer):
    number: int
    names: dict[str, str]
    state: CounterState
    staff: str | None
    pause_reason: str | None
    pause_code: str | None = None
    services: list[str]
    current: TicketAnswer | None


class TellerToday(Answer):
    served: int
    average_service_s: float | None


class CounterResult(Answer):
    counter: CounterAnswer
    ticket: TicketAnswer | None
    today: TellerToday | None = None
    """The counter's teller's figures for today (in the counter view)."""


class CounterListEntry(Answer):
    number: int
    names: dict[str, str]
    state: CounterState
    staff: str | None
    services: list[str]
    green_only: bool
    mine: bool
    """The asking teller may open it."""


class PublicTicket(Answer):
    """A ticket as its holder sees it through the token: no other customer's data."""

    number: str
    service: str
    service_names: dict[str, str]
    branch: str
    branch_names: dict[str, str]
    priority: Priority
    state: TicketState
    issued_at: datetime
    ahead: int
    estimated_wait_s: int | None
    """None while no counter that may call it is open (``no_counter_open``)."""
    no_counter_open: bool = False
    counter: int | None
    feedback_given: bool
    travel_min: int | None = None
    """Taken from the phone with the customer's travel time: ``come_now`` says when to leave."""
    come_now: bool = False
    """Waiting, and the estimated wait is no longer than ``travel_min``: time to set off."""


class FeedbackAnswer(Answer):
    score: int
    tags: list[str]
    comment: str
    at: datetime


# --- websocket messages (GET /ws) ----------------------------------------------------

Role = Literal["kiosk", "counter", "display", "dashboard", "evaluator", "phone"]
"""``phone``: a ticket holder's page, admitted by its ticket's token to what the board shows."""


class Hello(Body):
    """The client's first message; anything else first closes the socket."""

    type: Literal["hello"]
    role: Role
    branch: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    token: Annotated[str, StringConstraints(max_length=200)] | None = None
    since_seq: Annotated[int, Field(ge=0)] | None = None


class Welcome(BaseModel):
    type: Literal["welcome"] = "welcome"
    role: Role
    branch: str
    server: str
    heartbeat_s: float
    device: int | None = None
    staff: str | None = None


class Snapshot(BaseModel):
    type: Literal["snapshot"] = "snapshot"
    seq: int
    state: dict[Any, Any]


class EventMessage(BaseModel):
    """Any event as it arrives: ``kind`` names its definition in :data:`EVENT_KINDS`."""

    type: Literal["event"] = "event"
    seq: int
    kind: str
    at: datetime
    data: dict[Any, Any]


#: Every event kind, by name, as defined in :mod:`server.domain.events` (the one catalogue).
EVENT_KINDS = events.CATALOGUE
#: The kind a client gets for an event it may not see: the seq alone, so it sees no gap.
PLACEHOLDER_KIND = "other"


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "_").split("_"))


def _event_model(kind: events.EventKind) -> type[BaseModel]:
    """The wire model of one kind. Each view sees a subset of the fields, so all are optional here."""
    fields: dict[str, Any] = {}
    for f in kind.fields:
        annotation: Any = f.type if isinstance(f.type, type) else Union[f.type]  # noqa: UP007
        fields[f.name] = (annotation | None, Field(None, description=f.doc or None))
    data = create_model(f"{_camel(kind.name)}Data", __config__=ConfigDict(extra="forbid"), **fields)
    data.__doc__ = kind.doc
    kind_literal: Any = Literal[kind.name]  # a Literal built at run time, from the catalogue
    return create_model(f"{_camel(kind.name)}Event", __base__=EventMessage, kind=(kind_literal, ...), data=(data, ...))


class OtherEvent(EventMessage):
    """An event this view may not see: its seq only."""

    kind: Literal["other"]
    data: dict[Any, Any]


EVENT_MODELS: dict[str, type[BaseModel]] = {name: _event_model(k) for name, k in EVENT_KINDS.items()}
#: The discriminated union of every event a socket can receive (built at run time: a value, not a type alias).
ServerEvent: Any = Annotated[
    Union[tuple(EVENT_MODELS.values()) + (OtherEvent,)],  # noqa: UP007
    Field(discriminator="kind"),
]
SERVER_EVENT: TypeAdapter[Any] = TypeAdapter(ServerEvent)


class CommandEnvelope(BaseModel):
    """``{"id": 7, "type": "counter/call_next", …}``: the fields besides id and type are the arguments."""

    model_config = ConfigDict(extra="allow")

    id: Annotated[int, Field(ge=1)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Result(BaseModel):
    type: Literal["result"] = "result"
    id: int | None
    success: bool
    result: dict[Any, Any] | list[Any] | None = None
    error: ErrorDetail | None = None


class CounterCommand(CounterStep):
    counter: Annotated[int, Field(ge=1, le=9999)]


class CounterPauseCommand(CounterCommand):
    code: PauseCode | None = None
    reason: ShortText | None = None


class CounterCallCommand(CounterCommand):
    ticket: TicketId | Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}[0-9]{3,5}$")]


class CounterTransferCommand(CounterCommand):
    service: ServiceCode | None = None
    to_counter: Annotated[int, Field(ge=1, le=9999)] | None = None
    position: TransferPosition = TransferPosition.LAST


class IssueCommand(IssueTicket):
    idempotency_key: IdempotencyKey | None = None


#: Today's ticket number as a person types it: service letter(s) and digits.
TicketNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}[0-9]{3,5}$")]


class TicketCommand(Body):
    """A websocket command about one ticket of the socket's branch, by id."""

    ticket: Annotated[int, Field(ge=1, le=10**18 - 1)]


class ReprintCommand(TicketCommand):
    kiosk: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    """The kiosk that prints the copy (None: the one that issued the ticket)."""


class RequeueCommand(TicketCommand):
    position: TransferPosition = TransferPosition.LAST


class ChangeServiceCommand(TicketCommand):
    service: ServiceCode


class FindTicketCommand(Body):
    number: TicketNumber


class ServiceCommand(Body):
    """Suspend or resume a service of the socket's branch."""

    service: ServiceCode



# --- devices ------------------------------------------------------------------------------


class PrinterStatus(Body):
    online: bool
    paper: Literal["ok", "near_end", "out", "unknown"] = "unknown"
    message: Annotated[str, StringConstraints(max_length=200)] | None = None


class DeviceStatusIn(Body):
    printer: PrinterStatus | None = None
    last_printed: Annotated[int, Field(ge=0, le=2**62)] | None = None
    """Id of the last ticket printed (kiosk agents)."""


class TicketToPrint(Answer):
    """Everything a kiosk prints on a ticket it issued (its own tickets only)."""

    id: int
    token: str
    number: str
    service: str
    service_names: dict[str, str]
    branch: str
    branch_names: dict[str, str]
    timezone: str | None = None
    priority: Priority
    issued_at: datetime
    ahead: int
    estimated_wait_s: int | None
    """None when no counter serving it was open at issue: the ticket says so instead."""
    language: str | None = None
    """The customer's language at the kiosk (None: the branch's)."""
    job: int | None = None
    """A reprint's print-job id (None: the ticket's first print)."""
    reprinted_at: datetime | None = None
    """When the reprint was asked for: the slip is marked as a copy with this time."""


class Reprint(Body):
    """Which kiosk prints the copy (None: the kiosk that issued the ticket)."""

    kiosk: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class ReprintAnswer(Answer):
    job: int
    ticket: int
    number: str
    kiosk: int
    kiosk_name: str
    reprints: int
    """How many reprints the ticket has had, this one included."""


class DeviceAnswer(Answer):
    """A device's own identity, for agents that start with only a token."""

    id: int
    kind: str
    name: str
    branch: str
    timezone: str
    language: str



class NoticeIn(Body):
    texts: Annotated[
        dict[Literal["zh-CN", "en", "zh-TW"], Annotated[str, StringConstraints(min_length=1, max_length=500)]],
        Field(json_schema_extra={"required": ["zh-CN"]}),  # the rule of _chinese_first
    ]
    """At least the zh-CN text; en and zh-TW are shown where given."""
    level: Literal["info"] = "info"
    """Notices are informational; an emergency is an incident (``POST /branches/{b}/emergency``)."""
    minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] | None = None
    """Shown for this long; until cleared when not given."""

    @field_validator("level", mode="before")
    @classmethod
    def _not_an_emergency(cls, value: object) -> object:
        if value == "emergency":
            raise ValueError("an emergency is started with POST /api/v1/branches/{b}/emergency, not as a notice")
        return value

    @model_validator(mode="after")
    def _chinese_first(self) -> NoticeIn:
        if "zh-CN" not in self.texts:
            raise ValueError("a notice needs its zh-CN text")
        return self


class NoticeAnswer(Answer):
    id: int
    texts: dict[str, str]
    level: str
    posted_at: datetime
    expires_at: datetime | None


# --- administration ----------------------------------------------------------------
# Fields of the patches are checked against the whole branch configuration when they
# are applied (server/services/branches.py), which reports each problem with its path.

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
StaffRole = Literal["teller", "manager", "admin", "inspector"]


class Patch(Body):
    """Fields to change, those absent stay as they are; strictly typed ("600" is not 600)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class BranchPatch(Patch):
    """Branch fields to change; those absent stay as they are."""

    names: dict[str, str] | None = None
    timezone: str | None = None
    language: str | None = None
    languages: list[str] | None = None
    hours: dict[str, list[list[str]]] | None = None
    holidays: list[str] | None = None
    no_show_grace_s: int | None = None
    green_confirm: list[str] | None = None
    """Green-channel reasons staff must confirm (elderly, disabled, pregnant, urgent)."""
    just_called_s: int | None = None
    """Seconds after a call during which a call-next without ``expect`` changes nothing (1–30)."""
    announcements: dict[str, object] | None = None
    limits: dict[str, object] | None = None


class ServicePatch(Patch):
    names: dict[str, str] | None = None
    target_wait_s: int | None = None
    max_wait_s: int | None = None
    target_service_s: int | None = None
    max_service_s: int | None = None
    max_queue: int | None = None
    max_idle_s: int | None = None
    daily_cap: int | None = None
    staff_reserve: int | None = None
    green_allowed: bool | None = None
    hours: dict[str, list[list[str]]] | None = None
    active: bool | None = None
    """False suspends the service (the kiosk greys it, issuing is refused), true resumes it; on its own."""


class CounterPatch(Patch):
    names: dict[str, str] | None = None
    services: list[ServiceCode] | None = None
    mode: Literal["ordered", "longest_wait"] | None = None
    green_only: bool | None = None
    green_ratio: str | None = None


class StaffIn(Body):
    # The rules of _belongs, as the OpenAPI document states them.
    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"anyOf": [{"properties": {"role": {"const": "admin"}}},
                   {"required": ["branch"], "properties": {"branch": {"type": "string"}}}]},
        {"anyOf": [{"properties": {"role": {"enum": ["manager", "inspector"]}}},
                   {"properties": {"branches": {"maxItems": 0}}}]},
    ]})

    username: Username
    password: Password
    role: StaffRole
    branch: str | None = None
    branches: list[str] = []
    """Further branches a regional manager oversees."""
    counters: list[Annotated[int, Field(ge=1, le=9999)]] = []
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None

    @model_validator(mode="after")
    def _belongs(self) -> StaffIn:
        if self.role not in ("admin", "inspector") and self.branch is None:
            raise ValueError("tellers and managers belong to a branch")
        if self.role == "inspector" and self.branch is None and not self.branches:
            raise ValueError("an inspector is assigned a branch or further branches")
        if self.branches and self.role not in ("manager", "inspector"):
            raise ValueError("only managers and inspectors oversee further branches")
        return self


def _absent_is_not_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The schema of a patch whose fields may be left out but not sent as null (but ``nullable``)."""
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf")
        if name in nullable or options is None:
            continue
        rest = [o for o in options if o.get("type") != "null"]
        if len(rest) == 1:
            del prop["anyOf"]
            prop.pop("default", None)
            prop.update(rest[0])


def _staff_patch_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    _absent_is_not_null(schema, model)
    schema["minProperties"] = 1  # the rule of _something


class StaffPatch(Patch):
    """Fields to change, at least one; null is refused (leave a field out to keep it), but for ``branch``."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_staff_patch_schema)
    nullable: ClassVar[frozenset[str]] = frozenset({"branch"})

    display_name: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    role: StaffRole | None = None
    branch: str | None = None
    branches: list[str] | None = None
    counters: list[Annotated[int, Field(ge=1, le=9999)]] | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> StaffPatch:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give at least one field")
        return self

    @model_validator(mode="after")
    def _no_nulls(self) -> StaffPatch:
        cleared = sorted(k for k in self.model_fields_set if getattr(self, k) is None and k not in self.nullable)
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be empty (null); leave a field out to keep it")
        return self


class PasswordReset(Body):
    password: Password


class EnrollmentIn(Body):
    kind: Literal["kiosk", "display", "evaluator"]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    valid_s: int = Field(900, ge=60, le=7 * 86400)
    """How long the code may be used, in seconds (15 minutes unless said)."""
    counter: int | None = Field(None, ge=1, le=9999)
    """For an evaluator (and only for one): the number of the counter it faces."""


class EnrollIn(Body):
    code: Annotated[str, StringConstraints(min_length=4, max_length=20)]


# --- emergency mode ----------------------------------------------------------------

#: An incident's message in one language: some text, not only spaces (zh-CN is required).
IncidentText = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"\S")]


class EmergencyIn(Body):
    """Start emergency mode (or a drill): issuing stops for ``scope`` at once."""

    kind: Literal["system_failure", "disaster", "crowd", "other"]
    scope: Literal["all"] | Annotated[list[ServiceCode], Field(min_length=1, max_length=40)] = "all"
    """``"all"`` or the codes of the services whose issuing stops."""
    texts: Annotated[
        dict[Literal["zh-CN", "en", "zh-TW"], IncidentText],
        Field(json_schema_extra={"required": ["zh-CN"]}),
    ]
    """The message on every screen: zh-CN required; en and zh-TW fall back to it when not given."""
    drill: bool = False
    """A drill runs the same way, flagged 演练 DRILL, and is kept out of the KPIs."""


class EmergencyStartCommand(EmergencyIn):
    """``emergency/start``: the websocket twin of ``POST …/emergency`` (same arguments)."""


class EmergencyEndCommand(Body):
    """``emergency/end``: the websocket twin of ``DELETE …/emergency`` (no arguments)."""


class IncidentEntryIn(Body):
    kind: Literal["note", "action"] = "note"
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class IncidentEntryAnswer(Answer):
    id: int
    at: datetime
    kind: str
    actor: str
    text: str


class IncidentAnswer(Answer):
    id: int
    kind: str
    scope: str | list[str]
    texts: dict[str, str]
    drill: bool
    state: Literal["active", "ended"]
    started_at: datetime
    started_by: str | None
    ended_at: datetime | None
    reported_upward_at: datetime | None
    waiting_at_start: int
    stopped_s: int
    """Seconds issuing stood still (so far, while active)."""
    timeline: list[IncidentEntryAnswer] = []


class EmergencyState(Answer):
    """The branch's emergency mode now: the incident in force, or none."""

    active: IncidentAnswer | None
    stopped_services: list[str]
# --- supervision: breaches, inspections, rectification -----------------------------------

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
#: A deadline day: from 2000 to 2100 (like a report's days).
Deadline = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
ItemCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class AcknowledgeIn(Body):
    note: Note
    """What was done about the breach."""


class AcknowledgeCommand(Body):
    breach: Annotated[int, Field(ge=1, le=2**31 - 1)]
    note: Note


class FindingIn(Body):
    """One checklist item's finding; a failed item names who puts it right, what, and by when."""

    item: ItemCode
    passed: bool
    note: Annotated[str, StringConstraints(max_length=500)] = ""
    owner: Username | None = None
    """A failed item: the username of the branch's staff member who owns the rectification."""
    requirement: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] | None = None
    deadline: Deadline | None = None
    """A failed item: the last day (in the branch's zone) to put it right."""
    staff: Username | None = None
    """A failed item about a person (appearance, conduct): the username of the staff member it
    names. It counts in their assessment; the owner of the rectification may be someone else."""

    @model_validator(mode="after")
    def _failed_needs_notice(self) -> FindingIn:
        if not self.passed and (self.owner is None or self.requirement is None or self.deadline is None):
            raise ValueError(f"failed item {self.item}: give owner, requirement and deadline")
        if self.passed and self.staff is not None:
            raise ValueError(f"item {self.item} passed: only a failed item names a staff member")
        return self


class InspectionIn(Body):
    note: Annotated[str, StringConstraints(max_length=1000)] = ""
    items: Annotated[list[FindingIn], Field(min_length=1, max_length=200)]
    """Every item of the checklist, once."""


class RectificationReportIn(Body):
    report: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    """What the owner did."""


class RecheckIn(Body):
    outcome: Literal["close", "reopen"]
    note: Annotated[str, StringConstraints(max_length=1000)] = ""
    deadline: Deadline | None = None
    """On reopen: a new last day (else the old deadline holds)."""
