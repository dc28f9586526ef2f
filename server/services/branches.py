"""A branch's configuration as one document: validate it, show what it changes, apply it, export it.

The document (YAML in files, see ``deploy/branch.example.yaml``) holds the branch's names,
time zone, languages, opening hours and holidays, announcement settings, its services and
its counters with their work profiles. :func:`parse_config` reports every problem with its
path in the document; :func:`plan` lists the changes; :func:`apply_config` makes them in one
transaction (or none); :func:`export_config` writes the current configuration back out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import cache
from typing import Annotated, Any, Literal, cast
from zoneinfo import available_timezones

import yaml
from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from server.domain.assessment import DEFAULT_BANDS, EFFICIENCY_PARTS, PARTS, AssessmentRules, Band
from server.domain.complaints import Category, DeadlineRules
from server.domain.errors import Conflict, InvalidConfig, NotFound
from server.domain.events import BRANCH_CONFIGURED
from server.domain.hours import hours_problems
from server.domain.model import CounterMode, CounterState, GreenRatio, GreenReason
from server.domain.numbering import business_date
from server.domain.slots import Schedule
from server.domain.standards import ESCALATE_AFTER
from server.notify.templates import NotificationRules
from server.store import branch_config
from server.store import repository as repo
from server.store.repository import BranchConfig, BranchRow

from . import bookings
from .context import Actor, Services, UnitOfWork

Language = Literal["zh-CN", "en", "zh-TW"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en", "zh-TW")
Hours = dict[str, list[list[str]]]
BranchId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
ServiceCode = Annotated[str, StringConstraints(pattern=r"^([A-FH-XZ]|[A-FH-Z]{2})$")]  # not G, Y: green, appointments
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(json_schema_extra={"pattern": r"^[^\u0000]*[^\s\u0000][^\u0000]*$"}),  # not blank, as stripped
]


class Names(BaseModel):
    """A name in the three languages; zh-TW defaults to the zh-CN text."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    zh: Text = Field(alias="zh-CN")
    en: Text
    zh_tw: Text | None = Field(default=None, alias="zh-TW")

    @model_validator(mode="after")
    def _zh_tw(self) -> Names:
        if self.zh_tw is None:
            self.zh_tw = self.zh
        return self

    def columns(self) -> dict[str, str]:
        return {"name_zh": self.zh, "name_en": self.en, "name_zh_tw": self.zh_tw or self.zh}

    def text(self) -> str:
        return f"{self.zh} / {self.en}"


class Announcements(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    chime: bool = True
    """A chime before each call."""
    repeat: int = Field(1, ge=1, le=3)
    """How many times each call is spoken."""
    # The lambda's list is inferred as list[str]: mypy takes no Literal context from Field's overloads.
    languages: list[Language] = Field(default_factory=lambda: ["zh-CN", "en"], min_length=1)  # type: ignore[arg-type]
    """Languages each call is spoken in, in order."""


def rate_rules_problem(text: str) -> str | None:
    """What is wrong with request-limit rules written as the ``limits`` library reads them
    (``"5/10 seconds;20/minute;360/hour"``), or None."""
    if len(text) > 200:
        return "at most 200 characters"
    try:
        rules = parse_many(text)
    except ValueError:
        rules = []
    if not rules:
        return f'{text[:60]!r} is not a limit; write it as "5/10 seconds;20/minute;360/hour"'
    if any(not 1 <= r.amount <= 1_000_000 for r in rules):
        return "each limit allows from 1 to 1000000 requests"
    return None


class Limits(BaseModel):
    """The branch's own request limits; None: the server's (``BRANCHQ_ISSUE_RATE_LIMIT``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kiosk_issue: str | None = None
    """Tickets per kiosk: a burst, then a steady rate, e.g. "5/10 seconds;20/minute;360/hour"."""

    @field_validator("kiosk_issue")
    @classmethod
    def _rules(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        problem = rate_rules_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class ServiceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    code: ServiceCode
    """One or two capital letters; G is the green channel's series."""
    names: Names
    target_wait_s: int = Field(900, gt=0, le=86400)
    max_wait_s: int | None = Field(None, gt=0, le=86400)
    target_service_s: int = Field(300, gt=0, le=86400)
    max_service_s: int | None = Field(None, gt=0, le=86400)
    """Service standards (server/domain/standards.py): the longest a ticket may be served,"""
    max_queue: int | None = Field(None, gt=0, le=100000)
    """the most tickets that may wait,"""
    max_idle_s: int | None = Field(None, gt=0, le=86400)
    """and the longest an open counter may stand idle while this service has tickets waiting."""
    daily_cap: int | None = Field(None, gt=0, le=100000)
    staff_reserve: int = Field(0, ge=0, le=100000)
    """Of ``daily_cap``, the tickets only staff may issue: kiosks and phones stop that many short."""
    green_allowed: bool = True
    hours: Hours | None = None
    """Own hours within the branch's (e.g. wealth advice only in the morning); None: the branch's."""

    @model_validator(mode="after")
    def _maxima_past_targets(self) -> ServiceSpec:
        if self.max_service_s is not None and self.max_service_s < self.target_service_s:
            raise ValueError("max_service_s is the limit past the target: at least target_service_s")
        return self

    @model_validator(mode="after")
    def _reserve_within_cap(self) -> ServiceSpec:
        if self.staff_reserve and (self.daily_cap is None or self.staff_reserve > self.daily_cap):
            raise ValueError("staff_reserve is a share of daily_cap: set daily_cap, and at most that many")
        return self


class CounterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    number: int = Field(ge=1, le=9999)
    names: Names | None = None
    services: list[ServiceCode] = Field(min_length=1)
    """The work profile: services in the order this counter takes them."""
    mode: CounterMode = CounterMode.ORDERED
    green_only: bool = False
    green_ratio: Annotated[str, Field(json_schema_extra={"pattern": "^[1-9][0-9]?:[1-9][0-9]?$"})] | None = None
    """None: the green channel strictly first; "1:2": one green call to two normal ones."""

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return CounterMode(value) if isinstance(value, str) and value in CounterMode._value2member_map_ else value

    @field_validator("green_ratio")
    @classmethod
    def _ratio(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ratio = GreenRatio.parse(value) if len(value) <= 7 else None
        except ValueError:
            ratio = None
        if ratio is None or ratio.green > 99 or ratio.normal > 99:
            raise ValueError('a green ratio is "green:normal" with whole numbers from 1 to 99, e.g. "1:2"')
        return str(ratio)

    @model_validator(mode="after")
    def _label(self) -> CounterSpec:
        if self.names is None:
            self.names = Names.model_validate(
                {"zh-CN": f"{self.number}号窗口", "en": f"Counter {self.number}", "zh-TW": f"{self.number}號櫃檯"}
            )
        return self


class ComplaintRules(BaseModel):
    """Calendar days to a decision (the regulator's 15, 30 for a complex case, 30 more with
    approval), when a case counts as due soon, and the categories the forms offer."""

    model_config = ConfigDict(extra="forbid", strict=True)

    standard_days: int = Field(15, ge=1, le=60)
    complex_days: int = Field(30, ge=1, le=90)
    further_days: int = Field(30, ge=0, le=90)
    due_soon_days: int = Field(3, ge=0, le=30)
    contact_daily_limit: int = Field(3, ge=1, le=100)
    """Public complaints one contact may file at the branch per day."""
    categories: list[str] = Field(
        default_factory=lambda: [c.value for c in Category], min_length=1, json_schema_extra={"uniqueItems": True}
    )

    @model_validator(mode="after")
    def _ordered(self) -> ComplaintRules:
        if self.complex_days < self.standard_days:
            raise ValueError("complex_days may not be fewer than standard_days")
        known = {c.value for c in Category}
        unknown = [c for c in self.categories if c not in known]
        if unknown:
            raise ValueError(f"unknown complaint category {unknown[0]!r}; known: {', '.join(sorted(known))}")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("each category once")
        return self

    def deadlines(self) -> DeadlineRules:
        return DeadlineRules(self.standard_days, self.complex_days, self.further_days, self.due_soon_days)


class StandardsSpec(BaseModel):
    """The branch's ``standards:`` section."""

    model_config = ConfigDict(extra="forbid", strict=True)

    escalate_after_min: int = Field(int(ESCALATE_AFTER.total_seconds() // 60), ge=1, le=24 * 60)
    """Minutes a breach may stay unacknowledged before it goes to the regional manager."""

    def escalate_after(self) -> timedelta:
        return timedelta(minutes=self.escalate_after_min)


class BandSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,23}$")]
    min_score: float = Field(ge=0, le=100)


_DEFAULT = AssessmentRules()


def _weights(defaults: Mapping[str, float]) -> Any:
    return Field(default_factory=lambda: dict(defaults))


class AssessmentSpec(BaseModel):
    """The branch's ``assessment:`` section: how much each part weighs, the bands, the penalties."""

    model_config = ConfigDict(extra="forbid", strict=False)

    weights: dict[str, Annotated[float, Field(ge=0, le=100)]] = _weights(_DEFAULT.weights)
    """attitude, efficiency, complaints, inspection (relative: they need not sum to 1)."""
    efficiency_weights: dict[str, Annotated[float, Field(ge=0, le=100)]] = _weights(_DEFAULT.efficiency_weights)
    """speed, utilisation, idle."""
    coverage_weight: float = Field(_DEFAULT.coverage_weight, ge=0, le=1)
    target_utilisation: float = Field(_DEFAULT.target_utilisation, gt=0, le=1)
    idle_grace_s: float = Field(_DEFAULT.idle_grace_s, ge=0, le=3600)
    idle_penalty_per_min: float = Field(_DEFAULT.idle_penalty_per_min, ge=0, le=100)
    complaint_penalty: float = Field(_DEFAULT.complaint_penalty, ge=0, le=100)
    finding_penalty: float = Field(_DEFAULT.finding_penalty, ge=0, le=100)
    bands: list[BandSpec] = Field(
        default_factory=lambda: [BandSpec(name=b.name, min_score=b.min_score) for b in DEFAULT_BANDS],
        min_length=1, max_length=10)

    @model_validator(mode="after")
    def _known(self) -> AssessmentSpec:
        for name, got, known in (("weights", self.weights, PARTS),
                                 ("efficiency_weights", self.efficiency_weights, EFFICIENCY_PARTS)):
            unknown = sorted(set(got) - set(known))
            if unknown:
                raise ValueError(f"{name}: unknown part {unknown[0]!r}; the parts are {', '.join(known)}")
            if not any(got.values()):
                raise ValueError(f"{name}: give at least one part a weight above 0")
        names = [b.name for b in self.bands]
        if len(set(names)) != len(names):
            raise ValueError("bands: each name once")
        if min(b.min_score for b in self.bands) > 0:
            raise ValueError("bands: the lowest band starts at 0, so every score has a band")
        return self

    def rules(self) -> AssessmentRules:
        return AssessmentRules(
            weights=dict(self.weights), efficiency_weights=dict(self.efficiency_weights),
            coverage_weight=self.coverage_weight, target_utilisation=self.target_utilisation,
            idle_grace_s=self.idle_grace_s, idle_penalty_per_min=self.idle_penalty_per_min,
            complaint_penalty=self.complaint_penalty, finding_penalty=self.finding_penalty,
            bands=tuple(Band(b.name, b.min_score) for b in self.bands))
class AppointmentSettings(BaseModel):
    """The branch's ``appointments:`` section (see server/domain/slots.py for the rules)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool = True
    services: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}$")]] | None = None
    """Services that take appointments; left out: every service."""
    slot_min: int = Field(30, ge=5, le=240)
    capacity: int | None = Field(None, ge=1, le=500)
    """Places per slot; left out: ``share`` of the counters that serve the service."""
    share: float = Field(0.5, gt=0, le=1, strict=False)
    days_ahead: int = Field(14, ge=0, le=90)
    cutoff_min: int = Field(60, ge=0, le=7 * 24 * 60)
    early_min: int = Field(30, ge=0, le=240)
    grace_min: int = Field(10, ge=0, le=120)
    late: Literal["walk_in", "refuse"] = "refuse"
    per_contact_day: int = Field(1, ge=1, le=20)
    per_contact_open: int = Field(3, ge=1, le=50)


class RemoteSettings(BaseModel):
    """The branch's ``remote:`` section: today's ticket from the phone, while the branch is open."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool = True
    services: list[Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}$")]] | None = None
    cap_share: float = Field(0.3, gt=0, le=1, strict=False)
    """Of a service's waiting tickets, at most this share taken from the phone."""


class BranchSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: BranchId
    names: Names
    timezone: Annotated[str, Field(json_schema_extra=lambda schema: schema.update(enum=sorted(_zones())))] = (
        "Asia/Shanghai"
    )
    language: Language = "zh-CN"
    """The branch's own language: screens start in it."""
    languages: list[Language] = Field(default_factory=lambda: list(LANGUAGES), min_length=1,
                                      json_schema_extra={"uniqueItems": True})  # as _once_each checks
    """What the kiosk offers to switch to."""
    hours: Hours = Field(default_factory=dict)
    holidays: list[Annotated[date, Field(strict=False)]] = Field(default_factory=list)
    no_show_grace_s: int = Field(600, ge=0, le=86400)
    green_confirm: list[GreenReason] = Field(default_factory=list, json_schema_extra={"uniqueItems": True})
    """Green-channel reasons staff must confirm: a kiosk or phone asking with one is refused
    (``needs_confirmation``) and the lobby manager issues the ticket, recorded as confirmed by them."""
    just_called_s: int = Field(3, ge=1, le=30)
    """Seconds after a call during which a call-next without ``expect`` is taken for a second
    press of the same key and changes nothing (``just_called``)."""
    announcements: Announcements = Field(default_factory=Announcements)
    limits: Limits = Field(default_factory=Limits)
    complaints: ComplaintRules = Field(default_factory=lambda: ComplaintRules())
    """The bank's complaint rules: calendar days to a decision, the categories offered."""
    notifications: NotificationRules = Field(default_factory=lambda: NotificationRules())
    """Message templates per kind and language, and the longest text (anything not given is built in)."""
    assessment: AssessmentSpec = Field(default_factory=lambda: AssessmentSpec())
    """How tellers are assessed: weights of the parts, bands, penalties (see server/domain/assessment.py)."""
    standards: StandardsSpec = Field(default_factory=lambda: StandardsSpec())
    """How breaches of the service standards are handled (the services carry the limits themselves)."""
    appointments: AppointmentSettings | None = None
    """Bookable slots per service; left out: the branch takes no appointments."""
    remote: RemoteSettings | None = None
    """Tickets from the phone; left out: off."""
    services: list[ServiceSpec] = Field(default_factory=list)
    counters: list[CounterSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in _zones():
            shown = value if len(value) <= 60 else value[:57] + "…"
            raise ValueError(f"unknown time zone {shown!r}; use an IANA name such as Asia/Shanghai")
        return value

    @field_validator("holidays", mode="before")
    @classmethod
    def _dates_as_dates(cls, value: Any) -> Any:
        # Dates from YAML or ISO text from JSON; not numbers, which would read as Unix times.
        if isinstance(value, list) and any(not isinstance(v, str | date) for v in value):
            raise ValueError("holidays are dates, written YYYY-MM-DD")
        return value

    @field_validator("holidays")
    @classmethod
    def _sorted(cls, value: list[date]) -> list[date]:
        return sorted(set(value))

    @field_validator("languages")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each language once")
        return value

    @field_validator("green_confirm", mode="before")
    @classmethod
    def _known_reasons(cls, value: Any) -> Any:
        # Strict mode takes no text for an enum: read the names here, each once.
        if not isinstance(value, list):
            return value
        known = [r.value for r in GreenReason]
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(f"unknown green-channel reason {unknown[0]!r}; the reasons are {', '.join(known)}")
        if len(set(value)) != len(value):
            raise ValueError("each reason once")
        return [GreenReason(v) for v in value]

    def service(self, code: str) -> ServiceSpec | None:
        return next((s for s in self.services if s.code == code), None)

    def schedule(self) -> Schedule:
        """The opening hours and holidays, as the slots' rules read them."""
        return Schedule(
            self.timezone, self.hours, frozenset(d.isoformat() for d in self.holidays),
            {s.code: s.hours for s in self.services},
        )

    def counter(self, number: int) -> CounterSpec | None:
        return next((c for c in self.counters if c.number == number), None)


# --- validation -----------------------------------------------------------------


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _nul_problems(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, "text may not contain NUL characters")] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nul_problems(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_problems(v, f"{path}[{i}]")]
    return []


def _first_of_each(
    entries: list[Any], part: str, key: str, kind: type, what: str, problems: list[tuple[str, str]]
) -> dict[Any, int]:
    """Where each ``key`` value first stands in ``entries``; a repeat is a problem."""
    first: dict[Any, int] = {}
    for i, entry in enumerate(entries):
        value = entry.get(key) if isinstance(entry, dict) else None
        if not isinstance(value, kind) or isinstance(value, bool):
            continue
        if value in first:
            problems.append((f"{part}[{i}].{key}", f"duplicate {what} {value!r} (also {part}[{first[value]}])"))
        else:
            first[value] = i
    return first


def _cross_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """What the fields' own types cannot see: duplicates, unknown services, hours."""
    problems: list[tuple[str, str]] = _nul_problems(data, "")
    services = cast(list[Any], data.get("services") if isinstance(data.get("services"), list) else [])
    counters = cast(list[Any], data.get("counters") if isinstance(data.get("counters"), list) else [])
    codes = _first_of_each(services, "services", "code", str, "service code", problems)
    _first_of_each(counters, "counters", "number", int, "counter number", problems)
    for i, s in enumerate(services):
        if isinstance(s, dict) and s.get("hours") is not None:
            problems += hours_problems(s["hours"], f"services[{i}].hours")
    for i, c in enumerate(counters):
        if not isinstance(c, dict):
            continue
        profile = c.get("services")
        if isinstance(profile, list):
            seen: set[str] = set()
            for k, code in enumerate(profile):
                if not isinstance(code, str):
                    continue
                if code not in codes:
                    problems.append((
                        f"counters[{i}].services[{k}]",
                        f"unknown service {code!r}; the services are {', '.join(codes) or 'none'}",
                    ))
                elif code in seen:
                    problems.append((f"counters[{i}].services[{k}]", f"service {code!r} is in the profile twice"))
                seen.add(code)
    if "hours" in data:
        problems += hours_problems(data["hours"], "hours")
    language, languages = data.get("language", "zh-CN"), data.get("languages")
    if (
        isinstance(languages, list)
        and isinstance(language, str)
        and language in LANGUAGES
        and language not in languages
    ):
        problems.append(("languages", f"the branch's own language {language!r} must be one of its languages"))
    return problems


def parse_config(data: Any) -> BranchSpec:
    """The configuration in ``data`` (a parsed document).

    Raises:
        InvalidConfig: every problem found, each with its path in the document.
    """
    if not isinstance(data, dict):
        raise InvalidConfig([("", "a branch configuration is a mapping with id, names, services, counters, …")])
    problems: list[tuple[str, str]] = []
    spec = None
    try:
        spec = BranchSpec.model_validate(data)
    except ValidationError as e:
        for error in e.errors():
            message = error["msg"].removeprefix("Value error, ")
            problems.append((_path(error["loc"]), message))
    for problem in _cross_problems(data):
        # The type errors have said it already where both look at the same place.
        if not any(path == problem[0] for path, _ in problems):
            problems.append(problem)
    if problems:
        raise InvalidConfig(problems)
    assert spec is not None
    return spec


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML has no type information here
    """YAML's safe loader without anchors and aliases, and without repeated keys.

    A configuration never needs aliases, and they let a few hundred bytes expand
    into billions of nodes ("billion laughs") or refer to themselves. A key written
    twice in one mapping would silently take its last value (YAML 1.2 forbids it).
    """

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, list | dict):
                    continue  # unhashable: refused below as YAML's own error
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        f"in the mapping of line {seen[key].line + 1}", node.start_mark,
                        f"the key {key!r} is given twice (also on line {seen[key].line + 1})",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a configuration; write the value out", mark
            )
        return super().compose_node(parent, index)


def load_yaml(text: str) -> BranchSpec:
    """Parse and validate a YAML (or JSON) document."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidConfig([(where, f"not valid YAML: {getattr(e, 'problem', None) or e}")]) from None
    except RecursionError:
        raise InvalidConfig([("", "the document is nested too deeply")]) from None
    except ValueError as e:  # e.g. an integer of thousands of digits
        raise InvalidConfig([("", f"not a usable value: {str(e)[:100]}")]) from None
    try:
        return parse_config(data)
    except RecursionError:
        raise InvalidConfig([("", "the document is nested too deeply")]) from None


def dump_yaml(spec: BranchSpec) -> str:
    """The document for ``spec``, in the order and form the sample uses."""
    text: str = yaml.dump(
        document(spec), Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=None,
        width=100,
    )
    return text


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML has no type information here
    """Writes every value out, never as an alias: the loader refuses aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def document(spec: BranchSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", by_alias=True)


# --- reading the current configuration ------------------------------------------


def spec_of(branch: BranchRow, config: BranchConfig) -> BranchSpec:
    """The document for a branch as the store loads it (services and counters in use only)."""
    return BranchSpec.model_validate(
        {
            "id": branch.id,
            "names": branch.names,
            "timezone": branch.timezone,
            "language": branch.language,
            "languages": list(branch.languages or LANGUAGES),
            "hours": branch.hours,
            "holidays": list(branch.holidays),
            "no_show_grace_s": branch.no_show_grace_s,
            "green_confirm": list(branch.green_confirm),
            "just_called_s": branch.just_called_s,
            "announcements": branch.announcements or {},
            "limits": branch.limits or {},
            "complaints": branch.complaints or {},
            "notifications": branch.notifications or {},
            "assessment": branch.assessment or {},
            "standards": branch.standards or {},
            "appointments": branch.appointments or None,
            "remote": branch.remote or None,
            "services": [
                {
                    "code": s.code, "names": s.names, "target_wait_s": s.target_wait_s,
                    "max_wait_s": s.max_wait_s, "target_service_s": s.target_service_s,
                    "max_service_s": s.max_service_s, "max_queue": s.max_queue, "max_idle_s": s.max_idle_s,
                    "daily_cap": s.daily_cap, "staff_reserve": s.staff_reserve,
                    "green_allowed": s.green_allowed, "hours": s.hours,
                }
                for s in config.services.values()
            ],
            "counters": [
                {
                    "number": c.number, "names": c.names, "services": list(c.services), "mode": c.mode,
                    "green_only": c.green_only, "green_ratio": str(c.green_ratio) if c.green_ratio else None,
                }
                for c in config.counters.values()
            ],
        },
        strict=False,
    )


async def current_spec(conn: Any, branch_id: str) -> BranchSpec | None:
    """The branch's configuration as stored now (read in ``conn``'s transaction, no cache)."""
    branch = await repo.load_branch(conn, branch_id)
    if branch is None:
        return None
    return spec_of(branch, await repo.load_config(conn, branch))


# --- the plan --------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict) and set(value) <= {"zh-CN", "en", "zh-TW"}:
        return " / ".join(str(v) for v in value.values())
    if isinstance(value, date):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)


def _field_changes(before: BaseModel, after: BaseModel, skip: tuple[str, ...] = ()) -> list[str]:
    a, b = before.model_dump(mode="json", by_alias=True), after.model_dump(mode="json", by_alias=True)
    return [
        f"{name} {_show(a[name])} → {_show(b[name])}"
        for name in type(after).model_fields
        if name not in skip and a[name] != b[name]
    ]


def plan(current: BranchSpec | None, new: BranchSpec) -> list[str]:
    """What applying ``new`` over ``current`` changes, one line per change, in words."""
    if current is None:
        return (
            [f"create branch {new.id} ({new.names.text()}, {new.timezone})"]
            + [f"add service {s.code} ({s.names.text()})" for s in new.services]
            + [f"add counter {c.number} ({', '.join(c.services)})" for c in new.counters]
        )
    changes = [f"branch: {c}" for c in _field_changes(current, new, skip=("id", "services", "counters"))]
    old_codes, new_codes = [s.code for s in current.services], [s.code for s in new.services]
    for s in new.services:
        before: ServiceSpec | CounterSpec | None = current.service(s.code)
        if before is None:
            changes.append(f"add service {s.code} ({s.names.text()})")
        else:
            changes += [f"service {s.code}: {c}" for c in _field_changes(before, s, skip=("code",))]
    changes += [f"remove service {code}" for code in old_codes if code not in new_codes]
    kept_old = [c for c in old_codes if c in new_codes]
    kept_new = [c for c in new_codes if c in old_codes]
    if kept_old != kept_new:
        changes.append(f"service order {', '.join(kept_old)} → {', '.join(kept_new)}")
    for c in new.counters:
        before = current.counter(c.number)
        if before is None:
            changes.append(f"add counter {c.number} ({', '.join(c.services)})")
        else:
            changes += [f"counter {c.number}: {d}" for d in _field_changes(before, c, skip=("number",))]
    new_numbers = {c.number for c in new.counters}
    changes += [f"remove counter {c.number}" for c in current.counters if c.number not in new_numbers]
    return changes


# --- applying --------------------------------------------------------------------


LIVE_STATES = ("waiting", "called", "serving")


@cache
def _zones() -> frozenset[str]:
    """The IANA zone names (folders such as America, and Factory-style oddities, are not zones)."""
    return frozenset(available_timezones() - {"Factory", "localtime", "posixrules"})


async def _refuse_removals(conn: Any, branch_id: str, current: BranchSpec, new: BranchSpec) -> None:
    """Removing a service or counter that customers still wait for would orphan their tickets."""
    gone_codes = [s.code for s in current.services if new.service(s.code) is None]
    live = await branch_config.live_tickets_by_service(conn, branch_id, gone_codes, LIVE_STATES)
    problems = [
        f"service {code} still has {n} ticket(s) waiting or being served; "
        "suspend it, let the queue empty, then remove it"
        for code, n in live.items()
    ]
    gone_numbers = [c.number for c in current.counters if new.counter(c.number) is None]
    for counter in await branch_config.counter_uses(conn, branch_id, gone_numbers):
        if counter.state != CounterState.CLOSED or counter.current_ticket_id is not None:
            problems.append(f"counter {counter.number} is {counter.state}; close it before removing it")
        elif counter.sent_here:
            problems.append(f"counter {counter.number} has {counter.sent_here} ticket(s) transferred to it waiting")
    if problems:
        raise Conflict("; ".join(problems), code="in_use")


async def _write(uow: UnitOfWork, current: BranchSpec | None, new: BranchSpec) -> None:
    """Store ``new`` as the branch's configuration (``current``: what is stored now, None for a new branch)."""
    await branch_config.write(
        uow.conn,
        new.id,
        branch={
            **new.names.columns(),
            "timezone": new.timezone,
            "language": new.language,
            "languages": list(new.languages),
            "hours": new.hours,
            "holidays": [d.isoformat() for d in new.holidays],
            "no_show_grace_s": new.no_show_grace_s,
            "green_confirm": [r.value for r in new.green_confirm],
            "just_called_s": new.just_called_s,
            "announcements": new.announcements.model_dump(mode="json"),
            "limits": new.limits.model_dump(mode="json", exclude_none=True),
            "complaints": new.complaints.model_dump(mode="json", exclude_defaults=True),
            "notifications": new.notifications.model_dump(mode="json", exclude_defaults=True, exclude_none=True),
            "assessment": new.assessment.model_dump(mode="json", exclude_defaults=True),
            "standards": new.standards.model_dump(mode="json", exclude_defaults=True),
            # Stored whole (an empty mapping: the section is left out), so the rules read no defaults twice.
            "appointments": new.appointments.model_dump(mode="json") if new.appointments else {},
            "remote": new.remote.model_dump(mode="json") if new.remote else {},
        },
        services=[
            {
                "code": s.code, **s.names.columns(), "target_wait_s": s.target_wait_s, "max_wait_s": s.max_wait_s,
                "target_service_s": s.target_service_s, "daily_cap": s.daily_cap,
                "max_service_s": s.max_service_s, "max_queue": s.max_queue, "max_idle_s": s.max_idle_s,
                "staff_reserve": s.staff_reserve, "green_allowed": s.green_allowed, "hours": s.hours,
            }
            for s in new.services
        ],
        counters=[
            {
                # A validated CounterSpec has its names: the _label validator fills in a default.
                "number": c.number, "services": list(c.services), **c.names.columns(),  # type: ignore[union-attr]
                "mode": c.mode.value, "green_only": c.green_only, "green_ratio": c.green_ratio,
            }
            for c in new.counters
        ],
        created_on=business_date(uow.now, new.timezone) if current is None else None,
    )


Edit = Callable[[BranchSpec | None], BranchSpec]
"""Turns the current configuration (None: no such branch yet) into the wanted one."""


async def change_config(
    app: Services,
    branch_id: str,
    edit: Edit,
    *,
    actor: Actor | None = None,
    action: str = "config.apply",
    target: str | None = None,
    part: Callable[[BranchSpec], Any] | None = None,
    dry_run: bool = False,
) -> tuple[list[str], BranchSpec]:
    """Make branch ``branch_id`` what ``edit`` says, in one transaction; the changes and the result.

    The edit sees the configuration read inside the same transaction, so two editors
    never overwrite each other's change. With ``dry_run`` nothing is written. A changed
    configuration bumps the branch's ``config_version`` (every process picks it up at
    its next call or issue), is written to the audit log (``part`` picks what the entry
    shows before and after; the whole document by default), and a ``branch.configured``
    event tells the screens to reload.

    Raises:
        InvalidConfig: the edited configuration is not valid.
        Conflict: a removed service or counter is still in use (``in_use``), or another
            admin created the same branch at the same moment (``exists``); nothing is changed.
    """
    async with app.unit_of_work(None) as uow:
        conn = uow.conn
        # One editor at a time per branch: the next one reads what this one wrote.
        await branch_config.hold(conn, branch_id)
        current = await current_spec(conn, branch_id)
        new = edit(current)
        changes = plan(current, new)
        if current is not None and changes:
            await _refuse_removals(conn, branch_id, current, new)
        if dry_run or not changes:
            return changes, new
        await _write(uow, current, new)

        def shown(spec: BranchSpec | None) -> Any:
            if spec is None:
                return None
            value = part(spec) if part is not None else spec
            return value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else value

        await uow.audit(actor, action, target or f"branch {branch_id}", shown(current), shown(new),
                        branch_id=branch_id)
        uow.branch = await repo.load_branch(conn, branch_id)
        uow.config_changed = True
        if current is not None:
            # A holiday or shorter hours over booked days: those bookings end, and each customer is told.
            await bookings.cancel_closed(uow, new.schedule())
        # A new branch has no screens yet to tell; its event log starts with its first ticket.
        if current is not None:
            uow.emit(BRANCH_CONFIGURED, {"changes": len(changes)},
                     staff_id=actor.id if actor is not None and actor.is_staff else None)
    return changes, new


async def apply_config(
    app: Services, spec: BranchSpec, *, actor: Actor | None = None, dry_run: bool = False,
    action: str = "config.apply",
) -> list[str]:
    """Make the branch exactly what ``spec`` says (a whole document); returns the changes."""
    changes, _ = await change_config(app, spec.id, lambda _current: spec, actor=actor, action=action,
                                     dry_run=dry_run)
    return changes


async def create_branch(app: Services, spec: BranchSpec, *, actor: Actor | None = None) -> None:
    """Create a branch with its services and counters in one transaction."""
    async with app.db.read() as conn:
        if await repo.load_branch(conn, spec.id) is not None:
            raise Conflict(f"branch {spec.id!r} exists already", code="exists")
    await apply_config(app, spec, actor=actor, action="branch.create")


async def export_config(app: Services, branch_id: str) -> BranchSpec:
    """The branch's configuration as a document model (``dump_yaml`` writes it out)."""
    async with app.db.read() as conn:
        spec = await current_spec(conn, branch_id)
    if spec is None:
        raise NotFound(f"no branch {branch_id!r}")
    return spec
