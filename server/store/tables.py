"""SQLAlchemy tables: the branch's configuration, its tickets and their event log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite too (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every time is stored in UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    # Every mapped class here is a plain table: ``X.__table__`` is a Table, not just a FromClause.
    __table__: ClassVar[Table]

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Branch(Base):
    __tablename__ = "branches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    name_zh_tw: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Weekday ("mon".."sun") → [["08:30", "17:00"], ...]; a missing day is closed."""
    no_show_grace_s: Mapped[int] = mapped_column(Integer, default=600)
    languages: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """Languages the kiosk offers, the branch's own first; empty means all three."""
    holidays: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """ISO dates the branch is closed all day."""
    announcements: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    green_confirm: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """Green-channel reasons staff must confirm: kiosks and phones may not issue them."""
    just_called_s: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    """How long after a call a call-next without ``expect`` counts as a second press."""
    """Per-branch overrides of the request limits (e.g. a kiosk's burst and rate)."""
    complaints: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """The bank's complaint rules for this branch (deadline days, categories); empty: the defaults."""
    notifications: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """Customer and staff message templates per kind and language (server/notify/templates.py); empty: built in."""
    assessment: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """How the branch weighs its tellers' assessment (weights, bands, penalties); empty: the defaults."""
    standards: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """How the branch's breaches are handled (the escalation delay); empty: the defaults."""
    appointments: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """The branch's ``appointments:`` settings (server/domain/slots.py); empty: takes none."""
    remote: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    """The branch's ``remote:`` settings: tickets from the phone; empty: off."""
    business_date: Mapped[date] = mapped_column(Date)
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    config_version: Mapped[int] = mapped_column(Integer, default=1)


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("branch_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    code: Mapped[str] = mapped_column(String(2))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    name_zh_tw: Mapped[str] = mapped_column(String(100))
    target_wait_s: Mapped[int] = mapped_column(Integer, default=900)
    max_wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target_service_s: Mapped[int] = mapped_column(Integer, default=300)
    max_service_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Service standards (see server/domain/standards.py): longest service, longest queue,
    longest idle time of an open counter while this service has tickets waiting."""
    max_queue: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_idle_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    daily_cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    staff_reserve: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Of the daily cap, how many tickets only staff may issue (kiosks stop earlier)."""
    green_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    """False: suspended (shown greyed at the kiosk)."""
    position: Mapped[int] = mapped_column(Integer, default=0)
    hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """Own opening hours within the branch's; None means the branch's hours."""
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Removed from the configuration but kept for the tickets that name it."""


class Counter(Base):
    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("branch_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    number: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    name_zh_tw: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(16), default="ordered")
    green_only: Mapped[bool] = mapped_column(Boolean, default=False)
    green_ratio: Mapped[str | None] = mapped_column(String(16), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="closed")
    state_since: Mapped[datetime | None] = mapped_column(nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """The teller's own words, for staff only."""
    pause_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """One of the fixed reasons the public board may show (``PAUSE_CODES``)."""
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    recent_calls: Mapped[str] = mapped_column(String(16), default="")
    """Classes of the last calls, oldest first ("g"/"n"): the green ratio's memory."""
    # No foreign key: counters and tickets would reference each other.
    current_ticket_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Removed from the configuration but kept for the tickets and events that name it."""


class CounterService(Base):
    """A counter's work profile: the services it takes, in order."""

    __tablename__ = "counter_services"

    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branches.id"), nullable=True)
    counters: Mapped[list[Any]] = mapped_column(default=list)
    """Counter numbers a teller may open; empty means any counter of the branch."""
    branches: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """Further branches a regional manager may see, besides ``branch_id``."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StaffSession(Base):
    """A signed-in browser: the cookie carries only the id's secret, so ending the row ends it."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_staff", "staff_id", "ended_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the secret in the cookie."""
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_why: Mapped[str | None] = mapped_column(String(32), nullable=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class LoginThrottle(Base):
    """Failed sign-ins per account (``user:name``) and per address (``addr:ip``)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)


class DatabaseMeta(Base):
    """Facts about the database itself, such as ``demo`` (it holds the demo branch and nothing else)."""

    __tablename__ = "database_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    counter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The counter number an evaluator faces (it rates only there); None for other devices."""


class NumberSequence(Base):
    """The last number given in each series on each business day (gapless)."""

    __tablename__ = "number_sequences"

    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    series: Mapped[str] = mapped_column(String(2), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("branch_id", "business_date", "series", "sequence"),
        # Each queue (service × class, or sent to a counter) in queue order: call-next reads
        # its first few straight off the index, and issuance counts waiting from it alone.
        Index(
            "ix_tickets_queue", "branch_id", "state", "service_id", "priority", "target_counter_id",
            "queued_at", "id",
        ),
        # Tickets a transfer placed at the head of a queue: rare, found without a scan.
        Index("ix_tickets_head", "branch_id", "state", "head"),
        # Covers every column the reports aggregate: a report scans this index, not the table.
        Index(
            "ix_tickets_report", "branch_id", "business_date", "service_id", "priority", "state",
            "issued_hour", "wait_s", "service_s", "estimated_wait_s", "counter_id", "staff_id",
            "target_wait_s",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    business_date: Mapped[date] = mapped_column(Date)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    series: Mapped[str] = mapped_column(String(2))
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(12))
    priority: Mapped[str] = mapped_column(String(8))
    green_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    state: Mapped[str] = mapped_column(String(12))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    issued_at: Mapped[datetime]
    queued_at: Mapped[datetime]
    head: Mapped[bool] = mapped_column(Boolean, default=False)
    target_counter_id: Mapped[int | None] = mapped_column(
        ForeignKey("counters.id"), nullable=True
    )
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    called_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_called_at: Mapped[datetime | None] = mapped_column(nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    recalls: Mapped[int] = mapped_column(Integer, default=0)
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    ahead_at_issue: Mapped[int] = mapped_column(Integer, default=0)
    estimated_wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The wait the customer was told at issue; None: no estimate (no counter serving it was open)."""
    target_wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The service's target wait when the ticket was issued: reports judge by it, not today's."""
    green_confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    """The staff member who confirmed a green-channel reason that needs confirmation."""
    # Kept at the moment they happen so that reports aggregate plain integers in SQL:
    issued_hour: Mapped[int] = mapped_column(Integer, default=0)
    """Hour of issue in the branch's time zone (0–23)."""
    wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Seconds from issue to the first call."""
    service_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Seconds from start (or call, when not started) to finish, for served tickets."""


class TicketEvent(Base):
    """Append-only log of every step; ``seq`` orders a branch's events everywhere."""

    __tablename__ = "ticket_events"
    __table_args__ = (UniqueConstraint("branch_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True, index=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PrintJob(Base):
    """A reprint of a ticket on a kiosk's printer: its agent prints each job once, in id order."""

    __tablename__ = "print_jobs"
    __table_args__ = (
        Index("ix_print_jobs_device", "device_id", "id"),
        Index("ix_print_jobs_ticket", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    """The kiosk whose printer prints it."""
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(100))
    """Who asked, as the audit log names them (a staff member, or the kiosk itself)."""
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime]


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    score: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class Notice(Base):
    """Text for every display and kiosk of a branch; an emergency one takes the whole screen."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_branch", "branch_id", "cleared_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Language tag → text (zh-CN always, en and zh-TW when given)."""
    level: Mapped[str] = mapped_column(String(16), default="info")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    posted_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(nullable=True)


class EnrollmentCode(Base):
    """A one-time code a manager gives a new device, exchanged once for its token."""

    __tablename__ = "enrollment_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    counter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """For an evaluator: the counter number it will face."""


class AuditEntry(Base):
    """Who changed what, when, with the value before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_branch", "branch_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    branch_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Complaint(Base):
    """A complaint case. The complainant's contact is a ciphertext (``contact``, see
    :mod:`server.store.vault`); lists read only the masked copy, duplicates and rate limits
    the keyed hash of the phone or e-mail."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_branch", "branch_id", "state", "due_on"),
        Index("ix_complaints_contact", "branch_id", "contact_hash"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime]
    received_on: Mapped[date] = mapped_column(Date)
    """The day of receipt on the branch's wall clock: the deadline counts from it."""
    due_on: Mapped[date] = mapped_column(Date)
    deadline_days: Mapped[int] = mapped_column(Integer)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    escalated_to: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"), nullable=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    """The staff member complained about (the teller who served the ticket, or named)."""
    counter_at: Mapped[datetime | None] = mapped_column(nullable=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The contact (name, phone, e-mail, ID number, agent) encrypted; None once erased."""
    contact_masked: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """HMAC of the phone (else the e-mail): duplicates and repeat complainants without decrypting."""
    contact_erased_at: Mapped[datetime | None] = mapped_column(nullable=True)
    regulator_ref: Mapped[str | None] = mapped_column(String(60), nullable=True)
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decision: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    remedies: Mapped[list[Any]] = mapped_column(default=list)
    against_teller: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfied: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    first_decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_late: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """Whether the first decision came after the due day (None: no decision yet)."""
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)


class ComplaintStep(Base):
    """The timeline of a case: every step, who took it and when (append-only)."""

    __tablename__ = "complaint_steps"
    __table_args__ = (Index("ix_complaint_steps_case", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    """The case's state after the step."""
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ComplaintRectification(Base):
    """The fix an upheld case needs: root cause, what is done, who owns it, by when, and the re-check."""

    __tablename__ = "complaint_rectifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    cause: Mapped[str] = mapped_column(String(16))
    fix: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(50))
    due: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    checked: Mapped[str | None] = mapped_column(String(16), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    checked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
# --- emergency mode: incidents and their timelines -------------------------------------


class Incident(Base):
    """An emergency (or a drill) of a branch: what stopped issuing, for which services, until when.

    ``active`` is True while the incident is in force and NULL once it ended: the unique
    constraint on (branch_id, active) lets a branch have one active incident at most (NULLs
    are distinct, so ended ones never collide), on SQLite and PostgreSQL alike, whichever
    process tries to start a second one.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("branch_id", "active"),
        Index("ix_incidents_branch_started", "branch_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[Any] = mapped_column(JSON)
    """``"all"`` or the list of service codes whose issuing stopped."""
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    drill: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    started_at: Mapped[datetime]
    started_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    business_date: Mapped[date] = mapped_column(Date)
    waiting_at_start: Mapped[int] = mapped_column(Integer, default=0)
    affected: Mapped[list[Any]] = mapped_column(default=list)
    """The tickets of the scope waiting, called or serving at the start: [{id, number, service, state}]."""
    reported_upward_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)


class IncidentEntry(Base):
    """One line of an incident's timeline: started, a note, an action, reported upward, ended."""

    __tablename__ = "incident_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text, default="")


# --- supervision: service-standard breaches, inspections and rectification ----------------


class Breach(Base):
    """A service standard that did not hold, from when it was raised until it cleared.

    ``open_key`` is the breach's rule and subject (``wait_max:A``) while it is open and NULL
    once it has cleared: unique per branch, so two processes evaluating at once record it once.
    """

    __tablename__ = "breaches"
    __table_args__ = (
        UniqueConstraint("branch_id", "open_key"),
        Index("ix_breaches_branch_raised", "branch_id", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    rule: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(40))
    open_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
    service: Mapped[str | None] = mapped_column(String(2), nullable=True)
    counter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    severity: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer, default=1)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    suggestion: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    raised_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None] = mapped_column(nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Inspection(Base):
    """One inspector's visit to a branch, walking a checklist."""

    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_branch", "branch_id", "visited_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    checklist: Mapped[str] = mapped_column(String(40))
    visited_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")


class InspectionItem(Base):
    """One checklist item's finding in an inspection."""

    __tablename__ = "inspection_items"
    __table_args__ = (UniqueConstraint("inspection_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    item: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")


class InspectionPhoto(Base):
    """A photo taken on an inspection, stored as a file under the data directory."""

    __tablename__ = "inspection_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    item: Mapped[str | None] = mapped_column(String(40), nullable=True)
    file: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime]


class Rectification(Base):
    """The notice to put a failed item right: owner, requirement, deadline, report and re-check."""

    __tablename__ = "rectifications"
    __table_args__ = (Index("ix_rectifications_branch", "branch_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    item: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    requirement: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="open")
    report: Mapped[str | None] = mapped_column(Text, nullable=True)
    reported_at: Mapped[datetime | None] = mapped_column(nullable=True)
    recheck_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    rechecked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    """How many times the inspector reopened it."""
    overdue_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """When it was escalated as overdue (once per deadline)."""


class OutboxMessage(Base):
    """A message to send (server/notify): written in the transaction of the change it tells of,
    sent afterwards by the worker of any server process, retried with backoff, then dead."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_branch", "branch_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    """The idempotency key: one message per key, ever (the webhook sends it as Idempotency-Key)."""
    kind: Mapped[str] = mapped_column(String(24))
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    channel: Mapped[str] = mapped_column(String(8))
    """email | webhook"""
    recipient: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The contact (name, phone, e-mail) encrypted with the vault; None once erased."""
    language: Mapped[str] = mapped_column(String(8))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    send_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(8), default="pending")
    """pending | sent | dead"""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None] = mapped_column(nullable=True)
    """A worker is sending it until then (a crashed worker's claim runs out)."""
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class NotifyWish(Base):
    """A customer's wish to be told about their ticket (N ahead, called, transferred)."""

    __tablename__ = "notify_wishes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    contact: Mapped[str] = mapped_column(Text)
    """The contact (phone or e-mail) encrypted with the vault."""
    language: Mapped[str] = mapped_column(String(8))
    ahead: Mapped[int] = mapped_column(Integer)
    ahead_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


# --- complaint statistics and intake retries ---------------------------------------------


class ComplaintComplainant(Base):
    """Which cases came from the same complainant, without saying who: the id of the first case
    they filed at the branch. Retention erases the contact and keeps this, so the statistics
    (repeat complainants) stay the same."""

    __tablename__ = "complaint_complainants"
    __table_args__ = (Index("ix_complaint_complainants_first", "first_case_id"),)

    complaint_id: Mapped[int] = mapped_column(BigId, ForeignKey("complaints.id"), primary_key=True)
    first_case_id: Mapped[int] = mapped_column(BigId, ForeignKey("complaints.id"))


class ComplaintIdempotencyKey(Base):
    """A complaint intake's ``Idempotency-Key``: a retried POST answers with the same case."""

    __tablename__ = "complaint_idempotency_keys"

    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    complaint_id: Mapped[int] = mapped_column(BigId, ForeignKey("complaints.id"))
    created_at: Mapped[datetime]


# --- staff assessment: what the evaluator showed, and findings about a person ------------------


class RatingPrompt(Base):
    """The evaluator at a counter asked the customer of a finished ticket for a rating.

    With :class:`Feedback` it gives a teller's rating coverage: of the tickets they finished,
    those where the prompt was shown, and of those, the ones the customer answered.
    """

    __tablename__ = "rating_prompts"
    __table_args__ = (Index("ix_rating_prompts_staff", "branch_id", "staff_id", "shown_at"),)

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("tickets.id"), primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    shown_at: Mapped[datetime]


class StaffFinding(Base):
    """A failed inspection item that names the staff member it is about (conduct, appearance …)."""

    __tablename__ = "staff_findings"
    __table_args__ = (
        UniqueConstraint("inspection_id", "item"),
        Index("ix_staff_findings_staff", "branch_id", "staff_id", "visited_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"))
    item: Mapped[str] = mapped_column(String(40))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    visited_at: Mapped[datetime]
class BookingSlot(Base):
    """How many places of one slot are taken: the row every booking of the slot updates.

    Capacity holds under concurrency because a booking takes a place with one
    conditional ``UPDATE … SET booked = booked + 1 WHERE booked < capacity``: on
    PostgreSQL the row lock makes the second writer re-read the count after the first
    commits, on SQLite the write transaction holds the database.
    """

    __tablename__ = "booking_slots"
    __table_args__ = (UniqueConstraint("branch_id", "service_id", "start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    start: Mapped[datetime]
    booked: Mapped[int] = mapped_column(Integer, default=0)


class Booking(Base):
    """An appointment: a slot of a service, a contact (sealed by the vault), a code and a token."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("branch_id", "code"),
        Index("ix_bookings_day", "branch_id", "day", "service_id"),
        Index("ix_bookings_contact", "branch_id", "contact_hash", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    code: Mapped[str] = mapped_column(String(12))
    """What the customer types at the kiosk (and its QR holds)."""
    token: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(24))
    day: Mapped[date] = mapped_column(Date)
    """The slot's day on the branch's wall clock."""
    start: Mapped[datetime]
    end: Mapped[datetime]
    contact: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Name and phone or e-mail, encrypted (server/store/vault.py)."""
    contact_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    checked_in_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True, unique=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """Checked in within the window (ranked by the slot's start); False: late, as a walk-in."""
    reschedules: Mapped[int] = mapped_column(Integer, default=0)


class BookingMessage(Base):
    """What a booking's customer is (to be) told: booked, reminders, cancelled by the branch.

    One row per message with an idempotency key; the notifier sends them.
    """

    __tablename__ = "booking_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"))
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(80), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    send_at: Mapped[datetime | None] = mapped_column(nullable=True)


class RemoteTicket(Base):
    """A ticket taken from the phone: counted against the remote share of its queue."""

    __tablename__ = "remote_tickets"
    __table_args__ = (Index("ix_remote_tickets_day", "branch_id", "business_date", "service_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("branches.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    business_date: Mapped[date] = mapped_column(Date)
    travel_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
