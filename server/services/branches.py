"""Setting up a branch: its services and counters with their work profiles."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import insert

from server.domain.errors import Conflict
from server.domain.model import CounterMode, GreenRatio
from server.domain.numbering import business_date
from server.store import repository as repo
from server.store import tables as t

from .context import Services


class Names(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    zh: str = Field(alias="zh-CN")
    en: str
    zh_tw: str | None = Field(default=None, alias="zh-TW")


class ServiceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[A-FH-Z]{1,2}$")]
    """G is the green channel's series."""
    names: Names
    target_wait_s: int = Field(900, gt=0)
    max_wait_s: int | None = Field(None, gt=0)
    target_service_s: int = Field(300, gt=0)
    daily_cap: int | None = Field(None, gt=0)
    green_allowed: bool = True


class CounterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: int = Field(ge=1, le=9999)
    names: Names | None = None
    services: list[str] = Field(min_length=1)
    mode: CounterMode = CounterMode.ORDERED
    green_only: bool = False
    green_ratio: str | None = None

    @model_validator(mode="after")
    def _ratio(self) -> CounterSpec:
        if self.green_ratio is not None:
            GreenRatio.parse(self.green_ratio)
        return self


class BranchSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
    names: Names
    timezone: str = "Asia/Shanghai"
    language: str = "zh-CN"
    hours: dict[str, list[tuple[str, str]]] = {}
    no_show_grace_s: int = 600
    services: list[ServiceSpec]
    counters: list[CounterSpec]

    @model_validator(mode="after")
    def _profiles_name_services(self) -> BranchSpec:
        codes = [s.code for s in self.services]
        if len(set(codes)) != len(codes):
            raise ValueError("service codes must be unique")
        for c in self.counters:
            unknown = set(c.services) - set(codes)
            if unknown:
                raise ValueError(f"counter {c.number} names unknown services {sorted(unknown)}")
        return self


def _name_columns(names: Names) -> dict[str, str]:
    return {"name_zh": names.zh, "name_en": names.en, "name_zh_tw": names.zh_tw or names.zh}


async def create_branch(app: Services, spec: BranchSpec) -> None:
    """Create a branch with its services and counters in one transaction."""
    async with app.db.write() as conn:
        if await repo.load_branch(conn, spec.id) is not None:
            raise Conflict(f"branch {spec.id!r} exists already", code="exists")
        await conn.execute(
            insert(t.Branch).values(
                id=spec.id,
                **_name_columns(spec.names),
                timezone=spec.timezone,
                language=spec.language,
                hours={day: [list(p) for p in periods] for day, periods in spec.hours.items()},
                no_show_grace_s=spec.no_show_grace_s,
                business_date=business_date(app.clock(), spec.timezone),
                event_seq=0,
                config_version=1,
            )
        )
        service_ids = {}
        for position, s in enumerate(spec.services):
            service_ids[s.code] = (
                await conn.execute(
                    insert(t.Service)
                    .values(
                        branch_id=spec.id,
                        code=s.code,
                        **_name_columns(s.names),
                        target_wait_s=s.target_wait_s,
                        max_wait_s=s.max_wait_s,
                        target_service_s=s.target_service_s,
                        daily_cap=s.daily_cap,
                        green_allowed=s.green_allowed,
                        active=True,
                        position=position,
                    )
                    .returning(t.Service.id)
                )
            ).scalar_one()
        for c in spec.counters:
            names = c.names or Names(**{"zh-CN": f"{c.number}号窗口", "en": f"Counter {c.number}", "zh-TW": f"{c.number}號櫃檯"})
            counter_id = (
                await conn.execute(
                    insert(t.Counter)
                    .values(
                        branch_id=spec.id,
                        number=c.number,
                        **_name_columns(names),
                        mode=c.mode,
                        green_only=c.green_only,
                        green_ratio=c.green_ratio,
                        state="closed",
                        recent_calls="",
                    )
                    .returning(t.Counter.id)
                )
            ).scalar_one()
            await conn.execute(
                insert(t.CounterService),
                [
                    {"counter_id": counter_id, "service_id": service_ids[code], "rank": rank}
                    for rank, code in enumerate(c.services)
                ],
            )
