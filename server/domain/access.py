"""Who may do what: the actor, the roles, and one table of permissions.

Every use case names the :class:`Action` it performs and asks :func:`require`
(or :func:`may`) before it touches anything. The table below is the whole of
authorization; a test walks every registered route and websocket command with
every role and checks the answers against it.

    role        own branch                                   other branches
    public      issue nothing; follow, cancel, rate its ticket by token
    kiosk       issue tickets, print its own, report status   —
    display     read the branch's public state                —
    evaluator   rate at a counter                             —
    teller      operate counters, read queue and notices,     —
                their own assessment
    manager     the teller's, plus reports, notices, devices   the branches they oversee
                and branch settings
    admin       everything                                    everything
    inspector   read the branch; record inspections, re-check  the branches assigned to them
                rectifications (never a counter or settings)

    Appointments: anyone may book, and check in with the booking's token; a kiosk and
    the lobby's staff check in by the booking's code alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .errors import Forbidden, Unauthenticated


class Role(enum.StrEnum):
    """Staff roles and device kinds: whoever may hold a session or a token."""

    TELLER = "teller"
    MANAGER = "manager"
    ADMIN = "admin"
    KIOSK = "kiosk"
    DISPLAY = "display"
    EVALUATOR = "evaluator"
    INSPECTOR = "inspector"


STAFF_ROLES = (Role.TELLER, Role.MANAGER, Role.ADMIN, Role.INSPECTOR)
#: Staff who may be given further branches (``Actor.branches``): a regional manager, an inspector.
OVERSEEING_ROLES = (Role.MANAGER, Role.INSPECTOR)
DEVICE_ROLES = (Role.KIOSK, Role.DISPLAY, Role.EVALUATOR)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking: signed-in staff, an enrolled device, or the public."""

    kind: str  # "staff" | "device" | "public"
    id: int | None = None
    role: str | None = None  # a Role value: the staff role, or the device kind
    branch_id: str | None = None
    counters: tuple[int, ...] = ()
    name: str = ""
    branches: tuple[str, ...] = ()
    """Further branches a regional manager oversees, besides ``branch_id``."""

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def may_see_branch(self, branch_id: str) -> bool:
        if self.kind == "staff" and self.role == Role.ADMIN:
            return True
        regional = self.kind == "staff" and self.role in OVERSEEING_ROLES and branch_id in self.branches
        return self.branch_id == branch_id or regional

    def label(self) -> str:
        """How the audit log names this actor."""
        if self.kind == "staff":
            return self.name or f"staff {self.id}"
        return f"{self.kind} {self.name or self.id}"


PUBLIC = Actor("public")


class Action(enum.StrEnum):
    """What a use case does, as far as authorization cares."""

    PUBLIC = "public"  # anyone: health, sign-in, a ticket by its token
    BRANCH_PUBLIC = "branch_public"  # anyone, but a device only in its own branch: services, audio
    STAFF_SELF = "staff_self"  # the signed-in account itself
    ISSUE = "issue"  # take a ticket
    OPERATE_COUNTER = "operate_counter"  # open, call, finish, transfer, requeue …
    READ_QUEUE = "read_queue"  # the waiting list, counters, notices
    RATE_AT_COUNTER = "rate_at_counter"
    DEVICE_SELF = "device_self"  # a device's own identity and health
    PRINT = "print"  # a kiosk's tickets to print
    REPRINT = "reprint"  # a ticket's copy: the lobby's staff, or the kiosk after a failed print
    MANAGE_BRANCH = "manage_branch"  # reports, notices, devices, settings, audit
    ADMINISTER = "administer"  # staff accounts, new branches, services
    HANDLE_COMPLAINTS = "handle_complaints"  # enter, list, read and act on complaint cases
    # --- emergency mode ---
    DECLARE_EMERGENCY = "declare_emergency"  # start/end emergency mode and drills, keep the incident record
    # --- supervision: inspections and rectification ---
    INSPECT = "inspect"  # record an inspection, re-check a rectification
    READ_INSPECTIONS = "read_inspections"  # inspections, rectifications, photos, bulletins
    RECTIFY = "rectify"  # the owner's report of a fix
    # --- staff assessment ---
    READ_ASSESSMENT = "read_assessment"  # a manager every teller's assessment, a teller their own
    # --- appointments ---
    CHECK_IN = "check_in"  # a booking becomes a ticket: a kiosk or staff by its code, the public with its token


#: Action → roles allowed, for the actor's own branch (and a manager's further branches).
PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.STAFF_SELF: frozenset(STAFF_ROLES),
    Action.ISSUE: frozenset({Role.KIOSK, Role.TELLER, Role.MANAGER, Role.ADMIN}),
    Action.OPERATE_COUNTER: frozenset({Role.TELLER, Role.MANAGER, Role.ADMIN}),
    Action.READ_QUEUE: frozenset({Role.TELLER, Role.MANAGER, Role.ADMIN}),
    Action.RATE_AT_COUNTER: frozenset({Role.EVALUATOR}),
    Action.DEVICE_SELF: frozenset(DEVICE_ROLES),
    Action.PRINT: frozenset({Role.KIOSK}),
    Action.REPRINT: frozenset({Role.KIOSK, Role.MANAGER, Role.ADMIN}),
    Action.MANAGE_BRANCH: frozenset({Role.MANAGER, Role.ADMIN}),
    Action.ADMINISTER: frozenset({Role.ADMIN}),
    Action.HANDLE_COMPLAINTS: frozenset({Role.MANAGER, Role.ADMIN}),
    # --- emergency mode: a branch manager's action (a teller or a device may not) ---
    Action.DECLARE_EMERGENCY: frozenset({Role.MANAGER, Role.ADMIN}),
    # --- supervision ---
    Action.INSPECT: frozenset({Role.INSPECTOR, Role.ADMIN}),
    Action.READ_INSPECTIONS: frozenset({Role.INSPECTOR, Role.MANAGER, Role.ADMIN}),
    Action.RECTIFY: frozenset({Role.MANAGER, Role.ADMIN}),
    # --- staff assessment: the handler narrows a teller to their own ---
    Action.READ_ASSESSMENT: frozenset({Role.TELLER, Role.MANAGER, Role.ADMIN}),
    # --- appointments: and the public, with the booking's token (see may()) ---
    Action.CHECK_IN: frozenset({Role.KIOSK, Role.TELLER, Role.MANAGER, Role.ADMIN}),
}


def may(actor: Actor, action: Action, branch_id: str | None = None) -> bool:
    """Whether ``actor`` may perform ``action`` on ``branch_id`` (None: no particular branch)."""
    if action is Action.PUBLIC:
        return True
    if action is Action.BRANCH_PUBLIC:
        return actor.kind != "device" or branch_id is None or actor.branch_id == branch_id
    if action is Action.CHECK_IN and actor.kind == "public":
        return True  # the use case asks for the booking's token
    if actor.kind == "public" or actor.role is None:
        return False
    if actor.role not in PERMISSIONS[action]:
        return False
    if actor.kind == "device":
        return branch_id is None or actor.branch_id == branch_id
    return branch_id is None or actor.may_see_branch(branch_id)


def require(actor: Actor, action: Action, branch_id: str | None = None) -> None:
    """Raise unless :func:`may`: :class:`Unauthenticated` for the public, else :class:`Forbidden`."""
    if may(actor, action, branch_id):
        return
    if actor.kind == "public":
        raise Unauthenticated("sign in first")
    if action is Action.BRANCH_PUBLIC or (
        branch_id is not None and actor.role is not None and actor.role in PERMISSIONS.get(action, ())
    ):
        raise Forbidden("not allowed for this branch")
    allowed = sorted(r.value for r in PERMISSIONS.get(action, ()))
    raise Forbidden(f"needs the {' or '.join(allowed)} role")
