"""Sign-in throttling: how long a key (an account, an address) is locked after failures.

Pure rules, kept in the database by the sign-in use case so that every process sees
the same counts. A few failures cost nothing; from then on each further failure
locks the key for twice as long as the one before, up to a ceiling, so a guesser
gets a handful of tries an hour while a person who mistyped waits a minute. A
success clears the account's count; a manager can lift an account's lock early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Rule:
    free: int
    """Failures allowed before the first lock."""
    first_lock: timedelta
    longest: timedelta
    forget_after: timedelta = timedelta(hours=24)
    """A key whose last failure is older than this starts again from nothing."""

    def after_failure(
        self, failures: int, last_failure_at: datetime | None, now: datetime
    ) -> tuple[int, datetime | None]:
        """(failures, locked until) once one more failure is counted."""
        if last_failure_at is not None and now - last_failure_at > self.forget_after:
            failures = 0
        failures += 1
        if failures < self.free:
            return failures, None
        lock = self.first_lock * 2 ** min(failures - self.free, 20)
        return failures, now + min(lock, self.longest)


#: Per account: the fifth wrong password in a row locks it for a minute, then 2, 4, … up to an hour.
ACCOUNT = Rule(free=5, first_lock=timedelta(minutes=1), longest=timedelta(hours=1))
#: Per address: a branch's staff may share one, so more slack before the first lock.
ADDRESS = Rule(free=20, first_lock=timedelta(minutes=1), longest=timedelta(hours=1))


def retry_after(locked_until: datetime | None, now: datetime) -> int | None:
    """Whole seconds until the lock ends, or None when not locked."""
    if locked_until is None or locked_until <= now:
        return None
    return max(1, int((locked_until - now).total_seconds() + 0.999))
