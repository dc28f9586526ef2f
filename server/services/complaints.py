"""Complaint cases: intake from every channel, the workflow's steps, the views, the deadlines.

Each step loads the case into :class:`server.domain.complaints.Case`, lets
:func:`~server.domain.complaints.apply` decide, and writes the result, a timeline step
and an event (``complaint.*``, staff screens only) in one unit of work. Contacts are
sealed by ``app.vault``; lists read the masked copy; the full contact is shown to the
branch's managers only, and every such view is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.complaint_protocol import (
    CaseDetail,
    CaseStep,
    CaseSummary,
    ComplaintCreated,
    ComplaintIn,
    Contact,
    DecideStep,
    EscalateStep,
    ExtendStep,
    PublicCase,
    PublicReply,
    PublicWithdraw,
    StaffComplaintIn,
)
from server.domain import complaints as rules
from server.domain.access import Action, Actor, Role, require
from server.domain.complaints import AWAITING_DECISION, OPEN_STATES, CaseAction, CaseState, Step
from server.domain.errors import Forbidden, IdempotencyMismatch, InvalidInput, NotFound, RateLimited
from server.domain.events import COMPLAINT_ESCALATED, COMPLAINT_RECEIVED, COMPLAINT_STEPPED
from server.store import complaints as store
from server.store import repository as repo

from . import bookings, notifications
from .context import BranchTx, Services

A = CaseAction


def deadline_rules(complaints: dict[str, Any] | None) -> rules.DeadlineRules:
    """The branch's deadline rules from its ``complaints`` settings (defaults for what it leaves out)."""
    c = complaints or {}
    d = rules.DeadlineRules()
    return rules.DeadlineRules(
        int(c.get("standard_days", d.standard_days)), int(c.get("complex_days", d.complex_days)),
        int(c.get("further_days", d.further_days)), int(c.get("due_soon_days", d.due_soon_days)),
    )


def _masked(contact: Contact) -> dict[str, Any]:
    return {
        "name": rules.mask_name(contact.name),
        "phone": rules.mask_phone(contact.phone) if contact.phone else None,
        "email": rules.mask_email(contact.email) if contact.email else None,
        "id_number": rules.mask_id_number(contact.id_number) if contact.id_number else None,
    }


def _case_of(row: Any, rectified: bool) -> rules.Case:
    return rules.Case(
        CaseState(row.state), row.received_on, row.due_on, row.deadline_days, complained_staff=row.staff_id,
        handler=row.handler_id, round=row.round, extensions=row.extensions, escalations=row.escalations,
        escalated_to=row.escalated_to, decided=row.decided_at is not None,
        outcome=rules.Outcome(row.outcome) if row.outcome else None, rectified=rectified,
        merged_into=row.merged_into,
    )


def _due_at(row: Any, zone: str) -> datetime:
    return rules.end_of_day(row.due_on, zone)


# --- intake ---------------------------------------------------------------------------------


async def file_complaint(app: Services, actor: Actor, branch_id: str, body: ComplaintIn, *,
                         idempotency_key: str | None = None) -> ComplaintCreated:
    """A customer's complaint, from a ticket's phone page or the online form (no sign-in).

    A repeated ``idempotency_key`` with the same body answers with the case the first request
    made (nothing new is filed); with another body it is refused (IdempotencyMismatch).
    """
    require(actor, Action.BRANCH_PUBLIC, branch_id)
    channel = body.channel or ("branch" if body.ticket_token else "online")
    return await _once(app, actor, branch_id, body, idempotency_key, lambda claim: _receive(app, actor, branch_id, dict(
        channel=channel, category=body.category.value, text=body.text, request=body.request, facts="",
        contact=body.contact, received_at=None, ticket_token=body.ticket_token, ticket=None, teller=None,
        complex=False, regulator_ref=None, language=body.language,
    ), public=True, claim=claim))


async def enter_complaint(app: Services, actor: Actor, branch_id: str, body: StaffComplaintIn, *,
                          idempotency_key: str | None = None) -> ComplaintCreated:
    """A complaint entered by staff for any channel (hotline, box, letter, regulator 12378, walk-in);
    ``idempotency_key`` as in :func:`file_complaint`."""
    require(actor, Action.HANDLE_COMPLAINTS, branch_id)
    fields = body.model_dump(exclude={"contact", "channel", "category"})
    return await _once(app, actor, branch_id, body, idempotency_key, lambda claim: _receive(app, actor, branch_id, dict(
        fields, channel=body.channel.value, category=body.category.value, contact=body.contact, language=None,
    ), public=False, claim=claim))


#: An intake's Idempotency-Key to record with the new case: (scope, key, request hash).
_Claim = tuple[str, str, str]


class _KeyTaken(Exception):
    """A concurrent intake with the same Idempotency-Key committed first."""


def _scope(actor: Actor, body: ComplaintIn | StaffComplaintIn) -> str:
    """The customer's form shares one scope whoever sends it (a key is a random UUID of the page's,
    and a retry must find it whether or not a cookie went with it); staff entries are per account."""
    return "public" if isinstance(body, ComplaintIn) else f"{actor.kind}:{actor.id}"


def _request_hash(body: ComplaintIn | StaffComplaintIn) -> str:
    return hashlib.sha256(f"{type(body).__name__}:{body.model_dump_json()}".encode()).hexdigest()


async def _once(app: Services, actor: Actor, branch_id: str, body: ComplaintIn | StaffComplaintIn,
                key: str | None, receive: Callable[[_Claim | None], Awaitable[ComplaintCreated]]) -> ComplaintCreated:
    """``receive()`` once per Idempotency-Key: a retry answers with the first request's case."""
    if key is None:
        return await receive(None)
    scope, digest = _scope(actor, body), _request_hash(body)
    async with app.db.read() as conn:
        earlier = await store.idempotent_case(conn, branch_id, scope, key)
    if earlier is None:
        try:
            return await receive((scope, key, digest))
        except _KeyTaken:
            pass  # rolled back: answer with the winner's case
        async with app.db.read() as conn:
            earlier = await store.idempotent_case(conn, branch_id, scope, key)
    if earlier.request_hash != digest:
        raise IdempotencyMismatch("this Idempotency-Key was used for a different complaint")
    async with app.db.read() as conn:
        row = await store.case_row(conn, branch_id, earlier.complaint_id)
        branch = await repo.load_branch(conn, branch_id)
    assert row is not None and branch is not None
    return _created(row, branch.timezone, merged_number=None)


def _created(row: Any, zone: str, *, merged_number: str | None) -> ComplaintCreated:
    return ComplaintCreated(
        id=row.id, number=row.number, token=row.token, state=row.state, received_at=row.received_at.astimezone(UTC),
        due_at=rules.end_of_day(row.due_on, zone), merged_into=merged_number, status_url=f"/c/{row.token}",
    )


async def _receive(app: Services, actor: Actor, branch_id: str, f: dict[str, Any], *, public: bool,
                   claim: _Claim | None = None) -> ComplaintCreated:
    async with app.unit_of_work(branch_id) as tx:
        branch = tx.branch
        settings = branch.complaints or {}
        allowed = settings.get("categories") or [c.value for c in rules.Category]
        if f["category"] not in allowed:
            raise InvalidInput(f"this branch takes no complaints of category {f['category']}", code="unknown_category")
        received_at = f["received_at"] or tx.now
        if received_at.tzinfo is None:
            raise InvalidInput("received_at needs a time zone offset")
        if received_at > tx.now:
            raise InvalidInput("received_at may not be in the future")
        if received_at < tx.now - timedelta(days=366):
            raise InvalidInput("received_at is more than a year ago")
        contact: Contact = f["contact"]
        fingerprint = app.vault.fingerprint(contact.phone, contact.email)
        if public and fingerprint is not None:
            limit = int(settings.get("contact_daily_limit", 3))
            if await store.filed_since(tx.conn, branch_id, fingerprint, tx.now - timedelta(days=1)) >= limit:
                raise RateLimited("this contact has filed as many complaints today as one may", retry_after=3600)
        links = await _links(tx, f)
        deadline = deadline_rules(settings)
        case = rules.new_case(received_at, branch.timezone, deadline, complex_case=bool(f["complex"]),
                              complained_staff=links.get("staff_id"))
        primary = None
        if fingerprint is not None:
            primary = await store.open_duplicate(tx.conn, branch_id, fingerprint, f["category"],
                                                 [s.value for s in OPEN_STATES])
        token = secrets.token_urlsafe(18)
        case_id = await store.insert_case(tx.conn, dict(
            branch_id=branch_id, number=token, token=token, channel=f["channel"], category=f["category"],
            state=case.state.value, complex=bool(f["complex"]), received_at=received_at,
            received_on=case.received_on, due_on=case.due_on, deadline_days=case.deadline_days,
            text=f["text"], request=f["request"] or "", facts=f.get("facts") or "",
            contact=app.vault.seal(contact.model_dump(exclude_none=True)), contact_masked=_masked(contact),
            contact_hash=fingerprint, regulator_ref=f.get("regulator_ref"), language=f.get("language"),
            remedies=[], **links,
        ))
        number = f"{case.received_on:%Y%m%d}-{case_id:05d}"
        await store.update_case(tx.conn, case_id, number=number)
        await _step(tx, actor, case_id, "receive", case.state, {"channel": f["channel"]})
        merged_number = None
        if primary is not None:
            merged = rules.apply(case, Step(A.MERGE, merged_into=primary.id, primary_due_on=primary.due_on), deadline)
            await store.update_case(tx.conn, case_id, state=merged.state.value, due_on=merged.due_on,
                                    merged_into=primary.id, ended_at=tx.now)
            await _step(tx, None, case_id, "merge", merged.state, {"into": primary.number})
            case, merged_number = merged, primary.number
        first_case = await store.first_case_of(tx.conn, branch_id, fingerprint) if fingerprint else None
        await store.put_complainant(tx.conn, case_id, first_case or case_id)
        if claim is not None:
            scope, key, digest = claim
            if not await store.claim_idempotency_key(tx.conn, dict(
                    branch_id=branch_id, scope=scope, key=key, request_hash=digest, complaint_id=case_id,
                    created_at=tx.now)):
                raise _KeyTaken
        tx.emit(COMPLAINT_RECEIVED, {"id": case_id, "number": number, "state": case.state.value,
                                     "due_on": case.due_on.isoformat(), "channel": f["channel"],
                                     "category": f["category"]})
        if merged_number is None:  # the complainant's words and contact stay in the case, never in a message
            await notifications.tell_staff(tx, "complaint", f"complaint:{case_id}", {
                "number": number, "category": f["category"], "due": case.due_on.isoformat()})
    return ComplaintCreated(
        id=case_id, number=number, token=token, state=case.state, received_at=received_at.astimezone(UTC),
        due_at=rules.end_of_day(case.due_on, branch.timezone), merged_into=merged_number,
        status_url=f"/c/{token}",
    )


async def _links(tx: BranchTx, f: dict[str, Any]) -> dict[str, Any]:
    """What branchq knows of the visit: ticket, service, counter, teller, time at the counter."""
    row = None
    if f.get("ticket_token"):
        row = await repo.ticket_by_token(tx.conn, f["ticket_token"])
        if row is None or row.branch_id != tx.branch.id:
            raise NotFound("no such ticket", code="unknown_ticket")
    elif f.get("ticket"):
        row = await repo.ticket_by_number(tx.conn, tx.branch.id, tx.today, f["ticket"])
        if row is None:
            raise NotFound(f"no ticket {f['ticket']} today", code="unknown_ticket")
    links: dict[str, Any] = {}
    if row is not None:
        links = dict(ticket_id=row.id, service_id=row.service_id, counter_id=row.counter_id,
                     staff_id=row.staff_id, counter_at=row.started_at or row.called_at)
    if f.get("teller") is not None:
        staff = await repo.staff_by_id(tx.conn, f["teller"])
        if staff is None or staff.branch_id != tx.branch.id:
            raise NotFound("no such staff member at this branch", code="unknown_staff")
        links["staff_id"] = staff.id
    return links


async def _step(tx: BranchTx, actor: Actor | None, case_id: int, action: str, state: CaseState,
                data: dict[str, Any]) -> None:
    await store.insert_step(tx.conn, dict(
        complaint_id=case_id, at=tx.now, action=action, state=state.value,
        staff_id=actor.id if actor is not None and actor.is_staff else None,
        actor=actor.label() if actor is not None and actor.kind != "public" else
        ("customer" if actor is not None else "system"), data=data,
    ))


# --- the workflow's steps --------------------------------------------------------------------


async def act(app: Services, actor: Actor, branch_id: str, case_id: int, action: CaseAction,
              body: CaseStep) -> CaseDetail:
    """One step on a case (accept, assign, decide, ...): refused with a 4xx and nothing changed."""
    require(actor, Action.HANDLE_COMPLAINTS, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await store.case_row(tx.conn, branch_id, case_id, lock=True)
        if row is None:
            raise NotFound("no such case")
        await _take_step(app, tx, actor, row, action, body)
    return await complaint_case(app, actor, branch_id, case_id, audit=False)


async def _superior(tx: BranchTx, wanted: int | None) -> int:
    """A regional manager over the branch, or an admin: ``wanted`` if it is one, else the first such."""
    rows = await store.active_staff(tx.conn)
    superiors = [r for r in rows
                 if r.role == Role.ADMIN or (r.role == Role.MANAGER and tx.branch.id in (r.branches or []))]
    if wanted is not None:
        if not any(r.id == wanted for r in superiors):
            raise InvalidInput("the superior must be a regional manager over this branch or an admin",
                               code="not_a_superior")
        return wanted
    regional = [r for r in superiors if r.role == Role.MANAGER] or superiors
    if not regional:
        raise InvalidInput("there is no superior to escalate to", code="no_superior")
    return int(regional[0].id)


async def superiors(app: Services, actor: Actor, branch_id: str) -> list[dict[str, Any]]:
    """Who may approve a further extension or take an escalated case: the branch's managers, the
    regional managers over it and the admins (active accounts), for the case page's choices."""
    require(actor, Action.HANDLE_COMPLAINTS, branch_id)
    async with app.db.read() as conn:
        rows = await store.active_staff(conn)
    return [{"id": r.id, "username": r.username, "display_name": r.display_name or r.username, "role": r.role}
            for r in rows if _oversees(r, branch_id)]


def _oversees(staff: Any, branch_id: str) -> bool:
    """An admin, the branch's own manager, or a regional manager over it."""
    if staff.role == Role.ADMIN:
        return True
    return bool(staff.role == Role.MANAGER and (staff.branch_id == branch_id or branch_id in (staff.branches or [])))


async def _take_step(app: Services, tx: BranchTx, actor: Actor | None, row: Any, action: CaseAction,
                     body: CaseStep) -> None:
    deadline = deadline_rules(tx.branch.complaints)
    fields = body.model_dump(mode="json")
    step = Step(action, by=actor.id if actor is not None else None, reason=str(fields.get("reason") or ""))
    values: dict[str, Any] = {}
    if action is A.ASSIGN:
        handler = await repo.staff_by_id(tx.conn, fields["handler"])
        if handler is None or handler.role not in (Role.MANAGER, Role.ADMIN) or not handler.active:
            raise InvalidInput("the handler must be an active manager or admin", code="not_a_handler")
        step = Step(action, by=step.by, handler=handler.id)
    elif action is A.EXTEND:
        assert isinstance(body, ExtendStep)
        if body.approver is not None:
            approver = await repo.staff_by_id(tx.conn, body.approver)
            if approver is None or not approver.active or not _oversees(approver, tx.branch.id):
                raise InvalidInput("the approver must be a manager of this branch, a regional manager over it "
                                   "or an admin", code="not_an_approver")
        step = Step(action, by=step.by, reason=body.reason, approver=body.approver)
    elif action is A.DECIDE:
        assert isinstance(body, DecideStep)
        if row.state == CaseState.ESCALATED and actor is not None and actor.id != row.escalated_to \
                and actor.role != Role.ADMIN and tx.branch.id not in actor.branches:
            raise Forbidden("an escalated case is decided by the superior", code="superior_decides")
        step = Step(action, by=step.by, outcome=body.outcome)
        values = dict(decision=body.text, sent_via=body.sent_via, outcome=body.outcome.value,
                      remedies=[r.value for r in body.remedies], against_teller=body.against_teller,
                      decided_at=tx.now)
        if row.first_decided_at is None:
            values |= dict(first_decided_at=tx.now,
                           decided_late=rules.is_overdue(row.due_on, tx.now, tx.branch.timezone))
    elif action is A.ESCALATE:
        assert isinstance(body, EscalateStep)
        step = Step(action, by=step.by, reason=body.reason, superior=await _superior(tx, body.superior))
    elif action is A.MERGE:
        primary = await store.case_row(tx.conn, tx.branch.id, fields["into"])
        if primary is None or primary.id == row.id or primary.state not in OPEN_STATES:
            raise InvalidInput("merge into another open case of this branch", code="merge_target")
        step = Step(action, by=step.by, merged_into=primary.id, primary_due_on=primary.due_on)
    elif action is A.RECHECK:
        step = Step(action, by=step.by, recheck=rules.Recheck(fields["result"]))
    case = _case_of(row, await store.rectification_of(tx.conn, row.id) is not None)
    after = rules.apply(case, step, deadline)
    values |= dict(state=after.state.value, handler_id=after.handler, round=after.round,
                   extensions=after.extensions, deadline_days=after.deadline_days, due_on=after.due_on,
                   escalations=after.escalations, escalated_to=after.escalated_to, merged_into=after.merged_into)
    if action is A.TRANSFER:
        values["department"] = fields["department"]
    if action is A.CLOSE:
        values["satisfied"] = fields.get("satisfied")
    elif action in (A.REOPEN, A.ESCALATE) and actor is not None and actor.kind == "public":
        values["satisfied"] = False  # the customer's own "not satisfied": the last answer counts
    if after.state not in OPEN_STATES and row.ended_at is None:
        values["ended_at"] = tx.now
    if action is A.RECTIFY:
        await store.put_rectification(tx.conn, row.id, dict(
            cause=fields["cause"], fix=fields["fix"], owner=fields["owner"], due=body.due,  # type: ignore[attr-defined]
            created_at=tx.now, checked=None, checked_at=None, checked_by=None))
    if action is A.RECHECK:
        await store.put_rectification(tx.conn, row.id, dict(
            checked=fields["result"], checked_at=tx.now, checked_by=actor.label() if actor else "system"))
    await store.update_case(tx.conn, row.id, **values)
    data = {k: v for k, v in fields.items() if v not in (None, "", [])}
    await _step(tx, actor, row.id, action.value, after.state, data)
    kind = COMPLAINT_ESCALATED if actor is None else COMPLAINT_STEPPED
    event: dict[str, Any] = {"id": row.id, "number": row.number, "state": after.state.value,
                             "due_on": after.due_on.isoformat()}
    if kind is COMPLAINT_STEPPED:
        event["action"] = action.value
    tx.emit(kind, event)


# --- views ---------------------------------------------------------------------------------


async def list_complaints(app: Services, actor: Actor, branch_id: str, *, state: str | None = None,
                          due: str | None = None, channel: str | None = None, category: str | None = None,
                          teller: int | None = None) -> list[CaseSummary]:
    """The branch's cases, newest first, contacts masked; ``due``: soon | overdue."""
    require(actor, Action.HANDLE_COMPLAINTS, branch_id)
    async with app.reading(branch_id) as (conn, branch, config):
        rows = await store.cases_of(conn, [branch_id], state=state, channel=channel, category=category,
                                    staff_id=teller)
        repeats = await store.contact_counts(conn, branch_id)
        names = await repo.staff_names(conn, [r.staff_id for r in rows] + [r.handler_id for r in rows])
        tickets = await repo.tickets_by_ids(conn, [r.ticket_id for r in rows if r.ticket_id])
    now = app.clock()
    out = [_summary(r, branch, config, now, names, tickets, repeats) for r in rows]
    if due == "soon":
        out = [c for c in out if c.due_soon and c.state in AWAITING_DECISION]
    elif due == "overdue":
        out = [c for c in out if c.overdue and c.state in AWAITING_DECISION]
    return out


LIST_COLUMNS = ("number", "received_at", "channel", "category", "state", "name", "phone", "email", "ticket",
                "service", "counter", "teller", "handler", "due_at", "days_left", "overdue", "outcome", "round",
                "escalations", "repeat")


async def export_list(app: Services, actor: Actor, branch_id: str, **filters: Any) -> list[dict[str, Any]]:
    """The list as rows for CSV / XLSX: contacts masked as in the list, the export audited."""
    cases = await list_complaints(app, actor, branch_id, **filters)
    async with app.unit_of_work(branch_id) as tx:
        await tx.audit(actor, "complaint.list_exported", f"{len(cases)} complaint case(s)", None,
                       {k: v for k, v in filters.items() if v is not None})
    return [{
        "number": c.number, "received_at": c.received_at.isoformat(), "channel": c.channel.value,
        "category": c.category.value, "state": c.state.value, "name": c.contact.name, "phone": c.contact.phone,
        "email": c.contact.email, "ticket": c.ticket, "service": c.service, "counter": c.counter,
        "teller": c.teller_name, "handler": c.handler_name, "due_at": c.due_at.isoformat(),
        "days_left": c.days_left, "overdue": "yes" if c.overdue else "no",
        "outcome": c.outcome.value if c.outcome else None, "round": c.round, "escalations": c.escalations,
        "repeat": "yes" if c.repeat else "no",
    } for c in cases]


def _summary(r: Any, branch: Any, config: Any, now: datetime, names: dict[int, str], tickets: dict[int, Any],
             repeats: dict[str, int]) -> CaseSummary:
    deadline = deadline_rules(branch.complaints)
    counter = config.counter_by_id(r.counter_id)
    service = config.service_by_id(r.service_id).code if r.service_id else None
    return CaseSummary(
        id=r.id, number=r.number, state=r.state, channel=r.channel, category=r.category,
        received_at=r.received_at, due_at=_due_at(r, branch.timezone),
        days_left=rules.days_left(r.due_on, now, branch.timezone),
        overdue=rules.is_overdue(r.due_on, now, branch.timezone),
        due_soon=rules.is_due_soon(r.due_on, now, branch.timezone, deadline),
        round=r.round, escalations=r.escalations, extensions=r.extensions,
        contact=r.contact_masked or {"name": ""},
        ticket=tickets[r.ticket_id].number if r.ticket_id in tickets else None, service=service,
        counter=counter.number if counter else None, teller=r.staff_id, teller_name=names.get(r.staff_id),
        handler=r.handler_id, handler_name=names.get(r.handler_id), outcome=r.outcome, merged_into=r.merged_into,
        repeat=repeats.get(r.contact_hash or "", 0) > 1,
    )


def sees_contact(actor: Actor, branch_id: str) -> bool:
    """Only the branch's managers (its own, or a regional manager over it) see a contact in full."""
    return actor.is_staff and actor.role == Role.MANAGER and (actor.branch_id == branch_id or
                                                              branch_id in actor.branches)


async def complaint_case(
    app: Services, actor: Actor, branch_id: str, case_id: int, *, audit: bool = True
) -> CaseDetail:
    """The case page: the matter, the links, the timeline; the full contact for the branch's managers (audited)."""
    require(actor, Action.HANDLE_COMPLAINTS, branch_id)
    full = sees_contact(actor, branch_id)
    async with app.unit_of_work(branch_id) as tx:
        row = await store.case_row(tx.conn, branch_id, case_id)
        if row is None:
            raise NotFound("no such case")
        steps = await store.steps_of(tx.conn, case_id)
        fix = await store.rectification_of(tx.conn, case_id)
        names = await repo.staff_names(tx.conn, [row.staff_id, row.handler_id])
        tickets = await repo.tickets_by_ids(tx.conn, [row.ticket_id] if row.ticket_id else [])
        repeats = await store.contact_counts(tx.conn, branch_id)
        contact = None
        if full and row.contact is not None:
            contact = {**app.vault.open(row.contact)}
            if audit:
                await tx.audit(actor, "complaint.contact_viewed", f"complaint {row.number}", None, None)
        summary = _summary(row, tx.branch, tx.config, tx.now, names, tickets, repeats)
    return CaseDetail(
        **summary.model_dump(), contact_full=contact, text=row.text, request=row.request, facts=row.facts,
        token=row.token, counter_at=row.counter_at, regulator_ref=row.regulator_ref, department=row.department,
        decision=row.decision, remedies=row.remedies or [], satisfied=row.satisfied,
        against_teller=row.against_teller,
        rectification=None if fix is None else dict(
            cause=fix.cause, fix=fix.fix, owner=fix.owner, due=fix.due, checked=fix.checked,
            checked_at=fix.checked_at, checked_by=fix.checked_by),
        actions=rules.allowed_actions(CaseState(row.state)),
        timeline=[dict(at=s.at, action=s.action, actor=s.actor, state=s.state, data=s.data) for s in steps],
    )


async def public_case(app: Services, token: str) -> PublicCase:
    """The complainant's view by the case token: no staff names, no contact."""
    async with app.db.read() as conn:
        row = await store.case_by_token(conn, token)
        if row is None:
            raise NotFound("no such case")
        branch = await repo.load_branch(conn, row.branch_id)
        steps = await store.steps_of(conn, row.id)
    assert branch is not None
    return PublicCase(
        number=row.number, branch=row.branch_id, state=row.state, category=row.category,
        received_at=row.received_at, due_at=_due_at(row, branch.timezone), decision=row.decision,
        remedies=row.remedies or [], may_reply=row.state == CaseState.DECIDED,
        steps=[{"at": s.at.isoformat(), "state": s.state} for s in steps],
    )


async def public_reply(app: Services, token: str, body: PublicReply) -> PublicCase:
    """The customer answers a decision: satisfied closes the case; not satisfied opens the second
    round, and after it goes to a superior."""
    found = await _by_token(app, token)
    customer = Actor("public", name="customer")
    async with app.unit_of_work(found.branch_id) as tx:
        row = await store.case_row(tx.conn, found.branch_id, found.id, lock=True)
        if body.satisfied:
            await _customer_step(app, tx, customer, row, A.CLOSE, body.note, satisfied=True)
        elif row.round < 2:
            await _customer_step(app, tx, customer, row, A.REOPEN, body.note or "not satisfied")
        else:
            await _customer_step(app, tx, customer, row, A.ESCALATE, body.note or "not satisfied")
    return await public_case(app, token)


async def public_withdraw(app: Services, token: str, body: PublicWithdraw) -> PublicCase:
    """The customer withdraws the complaint (any open case): the case ends, its reason kept."""
    found = await _by_token(app, token)
    customer = Actor("public", name="customer")
    async with app.unit_of_work(found.branch_id) as tx:
        row = await store.case_row(tx.conn, found.branch_id, found.id, lock=True)
        await _customer_step(app, tx, customer, row, A.WITHDRAW, body.reason)
    return await public_case(app, token)


async def _by_token(app: Services, token: str) -> Any:
    async with app.db.read() as conn:
        found = await store.case_by_token(conn, token)
    if found is None:
        raise NotFound("no such case")
    return found


async def _customer_step(app: Services, tx: BranchTx, customer: Actor, row: Any, action: CaseAction, note: str,
                         satisfied: bool | None = None) -> None:
    from server.complaint_protocol import STEP_BODIES

    body: dict[str, Any] = {"note": ""}
    if action in (A.WITHDRAW, A.REOPEN, A.ESCALATE):
        body["reason"] = note
    if action is A.CLOSE:
        body["satisfied"] = satisfied
    await _take_step(app, tx, customer, row, action, STEP_BODIES[action].model_validate(body))


# --- deadlines that run themselves -------------------------------------------------------------


async def deadline_alerts(app: Services, actor: Actor, branch_id: str) -> list[dict[str, Any]]:
    """Due-soon (≤ the branch's days) and overdue cases, as dashboard alerts."""
    require(actor, Action.HANDLE_COMPLAINTS, branch_id)
    async with app.reading(branch_id) as (conn, branch, _config):
        return await _alerts(conn, branch, app.clock())


async def digest(app: Services, actor: Actor, branch_id: str) -> dict[str, Any]:
    """The daily digest: what is overdue, what is due soon, what came in and was decided yesterday."""
    require(actor, Action.HANDLE_COMPLAINTS, branch_id)
    async with app.reading(branch_id) as (conn, branch, _config):
        return await _digest(conn, branch, app.clock(), await _alerts(conn, branch, app.clock()))


async def dashboard_part(conn: Any, branch: Any, now: datetime) -> dict[str, Any]:
    """What the live dashboard shows of complaints: the deadline alerts and the daily digest. In
    every dashboard snapshot, which the page asks for after each change and every few seconds,
    so a case turning due-soon or overdue at midnight shows without reloading the page."""
    alerts = await _alerts(conn, branch, now)
    return {"alerts": alerts, "digest": await _digest(conn, branch, now, alerts)}


async def _alerts(conn: Any, branch: Any, now: datetime) -> list[dict[str, Any]]:
    rows = await store.open_cases(conn, branch.id, [s.value for s in AWAITING_DECISION])
    found = rules.deadline_alerts([(r.id, r.number, CaseState(r.state), r.due_on) for r in rows], now,
                                  branch.timezone, deadline_rules(branch.complaints))
    return [{"code": a.code, "severity": a.severity, "case": a.case, "number": a.number,
             "due_on": a.due_on.isoformat(), "days_left": a.days_left} for a in found]


async def _digest(conn: Any, branch: Any, now: datetime, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    today = rules.local_date(now, branch.timezone)
    yesterday = today - timedelta(days=1)
    start = datetime.combine(yesterday, time.min, ZoneInfo(branch.timezone))
    received, decided = await store.day_counts(conn, branch.id, yesterday, start, start + timedelta(days=1))
    open_now = len(await store.open_cases(conn, branch.id, [s.value for s in OPEN_STATES]))
    return {
        "branch": branch.id, "date": today.isoformat(),
        "overdue": [a for a in alerts if a["code"] == "complaint_overdue"],
        "due_soon": [a for a in alerts if a["code"] == "complaint_due_soon"],
        "received_yesterday": received, "decided_yesterday": decided, "open": open_now,
    }


async def escalate_overdue(app: Services) -> list[str]:
    """Send every overdue case still awaiting a decision to a superior (the periodic task).

    Idempotent across processes: each case is re-read under a row lock (PostgreSQL; SQLite's
    writer holds the database) and an escalated case cannot be escalated again.
    """
    async with app.db.read() as conn:
        candidates = await store.cases_in_states(conn, [s.value for s in AWAITING_DECISION - {CaseState.ESCALATED}])
        zones = {b: (await repo.load_branch(conn, b)) for b in {r.branch_id for r in candidates}}
    now, done = app.clock(), []
    for r in candidates:
        branch = zones[r.branch_id]
        if branch is None or not rules.is_overdue(r.due_on, now, branch.timezone):
            continue
        async with app.unit_of_work(r.branch_id) as tx:
            row = await store.case_row(tx.conn, r.branch_id, r.id, lock=True)
            if row is None or row.state not in AWAITING_DECISION or row.state == CaseState.ESCALATED:
                continue
            if (CaseState(row.state), A.ESCALATE) not in rules.TRANSITIONS:
                continue
            body = EscalateStep(reason="overdue: escalated automatically")
            await _take_step(app, tx, None, row, A.ESCALATE, body)
            done.append(row.number)
    return done


# --- retention and keys ---------------------------------------------------------------------------


async def erase_contacts(app: Services, *, days: int) -> int:
    """Erase the contacts of cases ended more than ``days`` days ago; the anonymous case stays."""
    if days < 1:
        raise InvalidInput("the retention period is at least one day")
    async with app.unit_of_work(None) as tx:
        erased = await store.erase_contacts(tx.conn, ended_before=tx.now - timedelta(days=days), now=tx.now)
        if erased:
            await tx.audit(None, "retention.complaints", f"cases ended {days} days ago", None, {"contacts": erased})
    return erased


async def rekey(app: Services) -> int:
    """Re-encrypt every stored contact under the first data key (after a new key was put first)."""
    async with app.unit_of_work(None) as tx:
        rows = await store.sealed_contacts(tx.conn)
        for r in rows:
            await store.update_case(tx.conn, r.id, contact=app.vault.rotate(r.contact))
        # Bookings' contacts are sealed by the same vault: an old key may go only when none uses it.
        booked = await bookings.rekey_contacts(tx, app.vault)
        await tx.audit(None, "complaints.rekey", "complaint and booking contacts", None,
                       {"contacts": len(rows), "bookings": booked})
    return len(rows) + booked


async def upheld_by_teller(
    app: Services, branch_id: str, *, since: datetime | None = None, until: datetime | None = None
) -> dict[int, int]:
    """Cases decided upheld against each teller (for the scorecard and assessments); with
    ``since``/``until``, only those decided in [since, until)."""
    async with app.db.read() as conn:
        rows = await store.cases_of(conn, [branch_id])
    out: dict[int, int] = {}
    for r in rows:
        decided = repo.aware(r.decided_at) if r.decided_at is not None else None
        if since is not None and (decided is None or decided < since):
            continue
        if until is not None and (decided is None or decided >= until):
            continue
        if r.staff_id is not None and r.against_teller and r.outcome in ("upheld", "partly_upheld"):
            out[r.staff_id] = out.get(r.staff_id, 0) + 1
    return out


# --- the demo ---------------------------------------------------------------------------------------

_DEMO_CASES: list[tuple[str, str, str, list[tuple[CaseAction, dict[str, Any]]]]] = [
    ("hotline", "waiting", "13800000001", []),
    ("box", "environment", "13800000002", [(A.ACCEPT, {})]),
    ("online", "fees", "13800000003", [(A.ACCEPT, {}), (A.ASSIGN, {"handler": 0})]),
    ("letter", "error", "13800000004", [(A.ACCEPT, {}), (A.ASSIGN, {"handler": 0}),
                                        (A.TRANSFER, {"department": "银行卡中心", "reason": "card charge"})]),
    ("regulator", "mis_selling", "13800000005", [(A.ACCEPT, {}), (A.ASSIGN, {"handler": 0}), (A.DECIDE, {
        "text": "已核实并退还费用", "sent_via": "phone", "outcome": "upheld", "remedies": ["review", "mediation"]})]),
    ("walk_in", "attitude", "13800000006", [(A.REJECT, {"reason": "不属于本行业务"})]),
    ("hotline", "other", "13800000007", [(A.WITHDRAW, {"reason": "客户已自行解决"})]),
]


async def seed_demo_complaints(app: Services, branch_id: str = "demo") -> int:
    """A few cases in several states at the demo branch, unless it has some already."""
    from server.complaint_protocol import STEP_BODIES

    async with app.db.read() as conn:
        if await store.cases_of(conn, [branch_id]):
            return 0
        manager = await repo.staff_by_username(conn, "manager")
    if manager is None:
        return 0
    actor = Actor("staff", manager.id, Role.MANAGER, branch_id, name="manager")
    for channel, category, phone, steps in _DEMO_CASES:
        created = await enter_complaint(app, actor, branch_id, StaffComplaintIn.model_validate({
            "channel": channel, "category": category, "text": "演示投诉 / demo complaint",
            "contact": {"name": "演示客户", "phone": phone}}))
        for action, fields in steps:
            if "handler" in fields:
                fields = {**fields, "handler": manager.id}
            await act(app, actor, branch_id, created.id, action, STEP_BODIES[action].model_validate(fields))
    return len(_DEMO_CASES)
