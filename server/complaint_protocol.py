"""Wire models of the complaint routes: every request body and every answer.

Beside :mod:`server.protocol` (whose :class:`~server.protocol.Body` and
:class:`~server.protocol.Answer` they build on) so the complaint contract reads in one
place. Limits on every field are here; the pages and the OpenAPI document take them
from these models.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from server.domain.complaints import (
    CaseAction,
    CaseState,
    Category,
    Channel,
    Outcome,
    Recheck,
    Remedy,
    RootCause,
)
from server.protocol import Answer, Body

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
#: A phone number: digits, an optional leading +, 5 to 20 characters (a mainland mobile is 11 digits).
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{5,20}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120,
                                         pattern=r"^[^@\s]{1,64}@[^@\s]{1,100}\.[^@\s]{1,20}$")]
#: A mainland resident ID (18 characters, the last may be X) or another document number.
IdNumber = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[0-9A-Z]{6,20}$")]
CaseText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Department = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TicketToken = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
TicketNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,2}[0-9]{3,5}$")]
StaffId = Annotated[int, Field(ge=1, le=2**31 - 1)]
CaseId = Annotated[int, Field(ge=1, le=2**62)]


class Contact(Body):
    """Who complains: a name and a phone or an e-mail address (at least one of them)."""

    name: Name
    phone: Phone | None = None
    email: Email | None = None
    id_number: IdNumber | None = None
    """Optional: an ID document number (encrypted at rest like the rest of the contact)."""
    agent: Note | None = None
    """When someone complains on the customer's behalf: who, and their authority."""

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not self.phone and not self.email:
            raise ValueError("a contact needs a phone number or an e-mail address")
        return self


class ComplaintIn(Body):
    """A customer's complaint: from a ticket's phone page (``ticket_token``) or the branch's online form."""

    ticket_token: TicketToken | None = None
    channel: Literal["branch", "online"] | None = None
    """Default: ``branch`` with a ticket token, else ``online``."""
    category: Category
    text: CaseText
    """What happened."""
    request: Note = ""
    """What the customer asks for."""
    contact: Contact
    language: Literal["zh-CN", "en", "zh-TW"] | None = None


class StaffComplaintIn(Body):
    """A complaint entered by staff for any channel (hotline, box, letter, regulator, walk-in, ...)."""

    channel: Channel
    category: Category
    text: CaseText
    request: Note = ""
    facts: Note = ""
    contact: Contact
    received_at: datetime | None = None
    """When the bank received it (a letter, a forwarded case): not in the future; default now."""
    ticket: TicketNumber | None = None
    """Today's ticket number, when the case is about a visit today."""
    ticket_token: TicketToken | None = None
    teller: StaffId | None = None
    """The staff member complained about, when known and not on the ticket."""
    complex: bool = False
    """A complex case: 30 days to a decision instead of 15."""
    regulator_ref: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    """The regulator's own reference for a forwarded case (12378)."""


class ComplaintCreated(Answer):
    id: int
    number: str
    token: str
    state: CaseState
    received_at: datetime
    due_at: datetime
    merged_into: str | None = None
    """The number of the earlier open case on the same matter this one was merged into."""
    status_url: str


# --- actions ----------------------------------------------------------------------------


class CaseStep(Body):
    note: Note = ""


class AcceptStep(CaseStep):
    pass


class RejectStep(CaseStep):
    reason: Reason


class AssignStep(CaseStep):
    handler: StaffId


class ResolveStep(CaseStep):
    text: CaseText
    """What was done on the spot."""


class TransferStep(CaseStep):
    department: Department
    reason: Reason


class ExtendStep(CaseStep):
    reason: Reason
    approver: StaffId | None = None
    """Needed for the further (+30 days) extension: a manager or admin other than the one asking."""


class DecideStep(CaseStep):
    text: CaseText
    """The decision as sent to the customer."""
    sent_via: Literal["phone", "sms", "email", "letter", "in_person"]
    outcome: Outcome
    remedies: Annotated[list[Remedy], Field(min_length=1, max_length=4)]
    """The further remedies the decision names (review, mediation, arbitration, lawsuit)."""
    against_teller: bool = False
    """Upheld against the teller on the case (counts in the teller scorecard)."""


class ReopenStep(CaseStep):
    reason: Reason


class EscalateStep(CaseStep):
    reason: Reason
    superior: StaffId | None = None
    """A regional manager over the branch, or an admin; default: the first such account."""


class CloseStep(CaseStep):
    satisfied: bool | None = None
    """The customer's view of the handling (None: no answer)."""


class RectifyStep(CaseStep):
    cause: RootCause
    fix: CaseText
    owner: Name
    due: date


class RecheckStep(CaseStep):
    result: Recheck


class WithdrawStep(CaseStep):
    reason: Reason


class MergeStep(CaseStep):
    into: CaseId
    """The earlier case on the same matter; this one takes its deadline."""


#: The body of each action.
STEP_BODIES: dict[CaseAction, type[CaseStep]] = {
    CaseAction.ACCEPT: AcceptStep,
    CaseAction.REJECT: RejectStep,
    CaseAction.ASSIGN: AssignStep,
    CaseAction.RESOLVE: ResolveStep,
    CaseAction.TRANSFER: TransferStep,
    CaseAction.EXTEND: ExtendStep,
    CaseAction.DECIDE: DecideStep,
    CaseAction.REOPEN: ReopenStep,
    CaseAction.ESCALATE: EscalateStep,
    CaseAction.CLOSE: CloseStep,
    CaseAction.RECTIFY: RectifyStep,
    CaseAction.RECHECK: RecheckStep,
    CaseAction.WITHDRAW: WithdrawStep,
    CaseAction.MERGE: MergeStep,
}


class PublicReply(Body):
    """The customer's answer to a decision, by the case token."""

    satisfied: bool
    note: Note = ""


class PublicWithdraw(Body):
    reason: Reason


# --- answers ----------------------------------------------------------------------------


class MaskedContact(Answer):
    name: str
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None


class FullContact(MaskedContact):
    agent: str | None = None


class CaseSummary(Answer):
    """One case in the manager's list: the contact masked."""

    id: int
    number: str
    state: CaseState
    channel: Channel
    category: Category
    received_at: datetime
    due_at: datetime
    days_left: int
    overdue: bool
    due_soon: bool
    round: int
    escalations: int
    extensions: int
    contact: MaskedContact
    ticket: str | None = None
    service: str | None = None
    counter: int | None = None
    teller: int | None = None
    teller_name: str | None = None
    handler: int | None = None
    handler_name: str | None = None
    outcome: Outcome | None = None
    merged_into: int | None = None
    repeat: bool = False
    """The same contact has another case at this branch."""


class TimelineEntry(Answer):
    at: datetime
    action: str
    actor: str
    state: CaseState
    data: dict[str, Any]


class Rectification(Answer):
    cause: RootCause
    fix: str
    owner: str
    due: date
    checked: Recheck | None = None
    checked_at: datetime | None = None
    checked_by: str | None = None


class CaseDetail(CaseSummary):
    """The case page: the full contact (for the branch's managers, audited), the matter, the timeline."""

    contact_full: FullContact | None = None
    text: str
    request: str
    facts: str
    token: str
    counter_at: datetime | None = None
    """When the customer was at the counter (to find the camera recording)."""
    regulator_ref: str | None = None
    department: str | None = None
    decision: str | None = None
    remedies: list[Remedy] = []
    satisfied: bool | None = None
    against_teller: bool = False
    rectification: Rectification | None = None
    actions: list[CaseAction]
    """What the table allows from the current state."""
    timeline: list[TimelineEntry]


class PublicCase(Answer):
    """The complainant's view, by the case token: no names of staff, no contact."""

    number: str
    branch: str
    state: CaseState
    category: Category
    received_at: datetime
    due_at: datetime
    decision: str | None = None
    remedies: list[Remedy] = []
    may_reply: bool
    """A decision awaits the customer's answer (satisfied or not)."""
    steps: list[dict[str, Any]]
    """The public milestones: ``{"at", "state"}``."""


class ComplaintLinkIn(Body):
    """What the evaluator asks a complaint link with: the language the customer chose there."""

    lang: Literal["zh-CN", "en", "zh-TW"]
    """The complaint form opens in it on the phone."""


class ComplaintLink(Answer):
    """Where the phone continues a complaint about a ticket (handed out after a low rating)."""

    url: str
    """The customer's complaint form with the ticket filled in: ``…/complain/{branch}?ticket=…&lang=…``."""
    qr_svg: str
    """The same address as a QR code (SVG), for the evaluator to show."""
