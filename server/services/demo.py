"""The demo branch of ``branchq serve --demo`` (DESIGN.md, "Demo mode")."""

from __future__ import annotations

from typing import Any

from server.store import repository as repo

from . import auth
from .branches import BranchSpec, create_branch
from .context import Services

DEMO_PASSWORD = "demo-pass"
DEMO_EVALUATOR_COUNTER = 5
"""The counter the demo evaluator faces."""
DEMO_TOKENS = {"kiosk": "demo-kiosk", "display": "demo-display", "evaluator": "demo-evaluator"}

DEMO_BRANCH = BranchSpec.model_validate(
    {
        "id": "demo",
        "names": {"zh-CN": "演示支行", "en": "Demo Branch", "zh-TW": "演示分行"},
        "timezone": "Asia/Shanghai",
        "services": [
            {"code": "A", "names": {"zh-CN": "现金", "en": "Cash", "zh-TW": "現金"},
             "target_wait_s": 600, "max_wait_s": 1800, "target_service_s": 240},
            {"code": "B", "names": {"zh-CN": "转账汇款", "en": "Transfers", "zh-TW": "轉帳匯款"},
             "target_wait_s": 600, "max_wait_s": 1800, "target_service_s": 300},
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


async def seed_demo(app: Services) -> bool:
    """Create the demo branch, staff and devices unless present; True when created now."""
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
    ]
    async with app.unit_of_work(None) as uow:  # the accounts and devices: all or none
        for account in accounts:
            await auth.add_staff(app, password=DEMO_PASSWORD, password_hash=hashed, uow=uow, **account)
        for kind, token in DEMO_TOKENS.items():
            await auth.add_device(app, branch_id="demo", kind=kind, name=f"demo {kind}", token=token, uow=uow,
                                  counter=DEMO_EVALUATOR_COUNTER if kind == "evaluator" else None)
    return True
