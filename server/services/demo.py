"""The demo branch of ``branchq serve --demo`` (DESIGN.md, "Demo mode").

Its credentials are public (``admin`` / ``demo-pass``, the ``demo-*`` device tokens),
so they live only in a database marked as a demo database (``database_meta`` key
``demo``), and a server running without ``--demo`` refuses them
(:func:`is_demo_password`, :func:`is_demo_token`). ``--demo`` on a database that
holds anything else, unmarked, is refused: one mistaken ``serve --demo`` on a real
database must not leave a global admin with a published password in it.
"""

from __future__ import annotations

from typing import Any

from server.domain.errors import Conflict
from server.store import meta
from server.store import repository as repo

from . import auth
from .branches import BranchSpec, create_branch
from .context import Services

DEMO_PASSWORD = "demo-pass"
DEMO_EVALUATOR_COUNTER = 5
"""The counter the demo evaluator faces."""
DEMO_TOKENS = {"kiosk": "demo-kiosk", "display": "demo-display", "evaluator": "demo-evaluator"}
DEMO_USERNAMES = ("admin", "manager", *(f"teller{n}" for n in range(1, 7)), "inspector")
DEMO_MARK = "demo"
"""The ``database_meta`` key of a demo database."""


def is_demo_password(password: str) -> bool:
    """The published demo password: refused for every account outside demo mode."""
    return password == DEMO_PASSWORD


def is_demo_token(token: str) -> bool:
    """One of the published demo device tokens: refused outside demo mode."""
    return token in DEMO_TOKENS.values()

DEMO_BRANCH = BranchSpec.model_validate(
    {
        "id": "demo",
        "names": {"zh-CN": "演示支行", "en": "Demo Branch", "zh-TW": "演示分行"},
        "timezone": "Asia/Shanghai",
        # Every service takes appointments for the next two weeks, and tickets from the phone.
        "appointments": {"slot_min": 30, "days_ahead": 14, "cutoff_min": 30, "early_min": 30, "grace_min": 10,
                         "late": "walk_in"},
        "remote": {"cap_share": 0.3},
        "services": [
            {"code": "A", "names": {"zh-CN": "现金", "en": "Cash", "zh-TW": "現金"},
             "target_wait_s": 600, "max_wait_s": 1800, "target_service_s": 240,
             "max_service_s": 900, "max_queue": 12, "max_idle_s": 180},
            {"code": "B", "names": {"zh-CN": "转账汇款", "en": "Transfers", "zh-TW": "轉帳匯款"},
             "target_wait_s": 600, "max_wait_s": 1800, "target_service_s": 300,
             "max_service_s": 1200, "max_queue": 12, "max_idle_s": 180},
            {"code": "C", "names": {"zh-CN": "开户", "en": "Accounts", "zh-TW": "開戶"},
             "target_wait_s": 900, "max_wait_s": 2700, "target_service_s": 600},
            {"code": "D", "names": {"zh-CN": "理财", "en": "Wealth", "zh-TW": "理財"},
             "target_wait_s": 900, "max_wait_s": 2700, "target_service_s": 900},
            {"code": "E", "names": {"zh-CN": "对公", "en": "Corporate", "zh-TW": "對公"},
             "target_wait_s": 1200, "max_wait_s": 3600, "target_service_s": 900},
        ],
        "counters": [
            {"number": 1, "services": ["A", "B"], "green_only": True},
            {"number": 2, "services": ["B", "A"]},
            {"number": 3, "services": ["A", "B", "C"]},
            {"number": 4, "services": ["C", "A"]},
            {"number": 5, "services": ["D"]},
            {"number": 6, "services": ["E", "A"]},
        ],
    }
)


async def mark_demo_database(app: Services) -> None:
    """Mark the database as a demo database, or refuse when it holds anything but the demo.

    An unmarked database with only the demo branch and its accounts (made by a version
    that did not mark) is marked now.

    Raises:
        Conflict: unmarked, with other branches or staff (``not_a_demo_database``).
    """
    async with app.unit_of_work(None) as uow:
        if await meta.get(uow.conn, DEMO_MARK) is not None:
            return
        branches, staff = await meta.others_than(uow.conn, DEMO_BRANCH.id, DEMO_USERNAMES)
        if branches or staff:
            raise Conflict(
                f"this database is not a demo database: it holds {branches} other branch(es) and "
                f"{staff} other staff account(s); --demo runs only on a database of its own "
                "(give another --database), and never adds its public credentials to a real one",
                code="not_a_demo_database",
            )
        await meta.put(uow.conn, DEMO_MARK, "1")


async def is_demo_database(app: Services) -> bool:
    async with app.db.read() as conn:
        return await meta.get(conn, DEMO_MARK) is not None


async def seed_demo(app: Services) -> bool:
    """Create the demo branch, staff and devices unless present; True when created now.

    Raises:
        Conflict: the database is not a demo database (see :func:`mark_demo_database`).
    """
    await mark_demo_database(app)
    async with app.db.read() as conn:
        if await repo.load_branch(conn, "demo") is not None:
            return False
    await create_branch(app, DEMO_BRANCH)
    # One hash for the shared demo password: argon2 is slow on purpose.
    hashed = await auth.hash_password(DEMO_PASSWORD)
    accounts: list[dict[str, Any]] = [
        {"username": "admin", "role": "admin", "branch_id": None},
        {"username": "manager", "role": "manager", "branch_id": "demo"},
        *({"username": f"teller{n}", "role": "teller", "branch_id": "demo", "counters": [n]} for n in range(1, 7)),
        # An inspector of no branch of their own, assigned the demo branch.
        {"username": "inspector", "role": "inspector", "branch_id": None, "branches": ["demo"]},
    ]
    assert [a["username"] for a in accounts] == list(DEMO_USERNAMES)
    async with app.unit_of_work(None) as uow:  # the accounts and devices: all or none
        for account in accounts:
            await auth.add_staff(app, password=DEMO_PASSWORD, password_hash=hashed, uow=uow, **account)
        for kind, token in DEMO_TOKENS.items():
            await auth.add_device(app, branch_id="demo", kind=kind, name=f"demo {kind}", token=token, uow=uow,
                                  counter=DEMO_EVALUATOR_COUNTER if kind == "evaluator" else None)
    return True
