"""The one exception tree of branchq.

    BranchqError                 base; never raised itself
    ├── NotFound                 unknown branch, service, counter, ticket        → 404
    ├── InvalidInput             a request that can never succeed as sent        → 400
    │   └── InvalidConfig        a branch configuration file, with every problem → 422
    ├── Unauthenticated          no or bad credentials                           → 401
    ├── Forbidden                credentials fine, not allowed to do this        → 403
    ├── Conflict                 refused because of the current state            → 409
    │   ├── InvalidTransition    ticket or counter move not allowed from here
    │   ├── Stale                a counter command's ``expect`` no longer holds
    │   │   └── JustCalled       a call-next without ``expect`` moments after a call
    │   └── IdempotencyMismatch  same Idempotency-Key, different request
    ├── RateLimited              too many requests                               → 429
    └── Busy                     the database cannot take the change just now    → 503

Every subclass carries a stable machine ``code`` that clients may rely on, and a
human message, and :meth:`BranchqError.details` what more a client may use (the
counter's state for :class:`Stale`). The web edge maps the class to the HTTP status; the
websocket hub puts the same fields in the error result.
"""

from __future__ import annotations

from typing import Any


class BranchqError(Exception):
    """Base of every error branchq raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def details(self) -> dict[str, Any]:
        """More the client may use, sent beside code and message (none by default)."""
        return {}


class NotFound(BranchqError):
    code = "not_found"


class InvalidInput(BranchqError):
    code = "invalid_input"


class InvalidConfig(InvalidInput):
    """A branch configuration with problems, each as (path in the document, message)."""

    code = "invalid_config"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        first = ": ".join(p for p in problems[0] if p) if problems else "invalid"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"the configuration has {len(problems)} problem(s): {first}{more}")

    def details(self) -> dict[str, Any]:
        return {"problems": [{"path": path, "message": message} for path, message in self.problems]}


class Unauthenticated(BranchqError):
    code = "unauthenticated"


class Forbidden(BranchqError):
    code = "forbidden"


class Conflict(BranchqError):
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Stale(Conflict):
    """A counter command whose ``expect`` no longer matches: nothing changed; here is the counter now."""

    code = "stale"

    def __init__(self, message: str, *, counter: dict[str, Any]) -> None:
        super().__init__(message)
        self.counter = counter

    def details(self) -> dict[str, Any]:
        return {"counter": self.counter}


class JustCalled(Stale):
    """A call-next without ``expect`` moments after a call not yet started: a second press of
    the key; nothing changed (the counter as it is, as for :class:`Stale`)."""

    code = "just_called"


class IdempotencyMismatch(Conflict):
    code = "idempotency_mismatch"


class RateLimited(BranchqError):
    code = "rate_limited"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after

    def details(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class Busy(BranchqError):
    """The database could not take the change in time (locked by another writer, connection lost).

    Send the same request again after ``retry_after`` seconds. Nothing was changed, except
    when the connection was lost during the commit itself, whose outcome only the database
    knows; a retry with the same Idempotency-Key, or a counter command with ``expect``, is
    safe either way.
    """

    code = "busy"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def details(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}
