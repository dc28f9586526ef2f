"""Report charts as SVG, drawn server-side by pygal (no script, no CDN: branches are offline)."""

from __future__ import annotations

from typing import Any

import pygal
from pygal.style import Style
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .summary import TICKET, Period

STYLE = Style(
    background="white",
    plot_background="white",
    font_family="'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif",
    colors=("#1f5fa8", "#2e9d5b", "#d9822b", "#c23b3b", "#7b4fa8"),
    # Sized for the drawing's own 640 px: the report page shows a chart between 520 and 760 px
    # wide (manage.css), so the smallest words stay above 12 px on the screen.
    title_font_size=19,
    label_font_size=16,
    major_label_font_size=16,
    legend_font_size=16,
    value_font_size=15,
    tooltip_font_size=15,
    no_data_font_size=24,
)
#: The drawing's size in its own pixels (its viewBox); the page scales it to its column.
WIDTH, HEIGHT = 640, 360
WAIT_BUCKETS_MIN = (5, 10, 15, 20, 30, 45, 60)


def _chart(kind: Any, title: str, **options: Any) -> Any:  # pygal has no type information
    # js=[]: pygal would otherwise link its tooltip script from a CDN.
    return kind(title=title, style=STYLE, js=[], disable_xml_declaration=True, width=WIDTH, height=HEIGHT,
                **options)


def arrivals_and_served_by_hour(rows: list[dict[str, Any]]) -> str:
    chart = _chart(pygal.Bar, "Arrivals and served per hour / 每小时到达与办结")
    chart.x_labels = [f"{r['key']:02d}:00" for r in rows]
    chart.add("issued / 取号", [r["issued"] for r in rows])
    chart.add("served / 办结", [r["served"] for r in rows])
    svg: str = chart.render(is_unicode=True)
    return svg


def sla_by_service(rows: list[dict[str, Any]]) -> str:
    chart = _chart(pygal.Bar, "Served within target wait / 目标时间内叫号率", range=(0, 100))
    chart.x_labels = [str(r["key"]) for r in rows]
    chart.add("SLA %", [round(100 * r["sla_share"], 1) if r["sla_share"] is not None else None for r in rows])
    svg: str = chart.render(is_unicode=True)
    return svg


async def wait_distribution(conn: AsyncConnection, branch_id: str, period: Period) -> str:
    """How many waited 0–5 min, 5–10 min, …, over 60 min (counted in SQL)."""
    wait = TICKET.c.wait_s
    bucket = case(
        *[(wait < m * 60, i) for i, m in enumerate(WAIT_BUCKETS_MIN)], else_=len(WAIT_BUCKETS_MIN)
    )
    counts: dict[int, int] = dict(
        (
            await conn.execute(
                select(bucket, func.count())
                .where(
                    TICKET.c.branch_id == branch_id,
                    TICKET.c.business_date >= period.first,
                    TICKET.c.business_date <= period.last,
                    wait.is_not(None),
                )
                .group_by(bucket)
            )
        ).all()
    )
    edges = (0, *WAIT_BUCKETS_MIN)
    labels = [f"{a}–{b}" for a, b in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]}+"]
    chart = _chart(pygal.Bar, "Wait distribution (minutes) / 等候时长分布（分钟）")
    chart.x_labels = labels
    chart.add("tickets / 人次", [counts.get(i, 0) for i in range(len(labels))])
    svg: str = chart.render(is_unicode=True)
    return svg


def complaints_by_period(rows: list[dict[str, Any]]) -> str:
    """Complaint cases received and closed per period, and those overdue now among them."""
    chart = _chart(pygal.Bar, "Complaints per period / 各期投诉收到与结案")
    chart.x_labels = [str(r["key"]) for r in rows]
    chart.add("received / 收到", [r["received"] for r in rows])
    chart.add("closed / 结案", [r["closed"] for r in rows])
    chart.add("overdue now / 当前超期", [r["overdue_now"] for r in rows])
    svg: str = chart.render(is_unicode=True)
    return svg
