"""Rows → answers: how tickets and counters are shown to staff."""

from __future__ import annotations

from typing import Any

from server.domain.numbering import APPOINTMENT_SERIES
from server.protocol import CounterAnswer, TicketAnswer
from server.store.repository import BranchConfig, aware


def ticket_answer(row: Any, config: BranchConfig) -> TicketAnswer:
    counter = config.counter_by_id(row.counter_id)
    target = config.counter_by_id(row.target_counter_id)
    return TicketAnswer(
        id=row.id,
        number=row.number,
        service=config.service_by_id(row.service_id).code,
        priority=row.priority,
        green_reason=row.green_reason,
        state=row.state,
        issued_at=aware(row.issued_at),
        queued_at=aware(row.queued_at),
        called_at=row.called_at and aware(row.called_at),
        started_at=row.started_at and aware(row.started_at),
        finished_at=row.finished_at and aware(row.finished_at),
        counter=counter.number if counter else None,
        target_counter=target.number if target else None,
        recalls=row.recalls,
        transfers=row.transfers,
        appointment=aware(row.queued_at) if row.series == APPOINTMENT_SERIES and not row.transfers else None,
    )


def ticket_event_data(row: Any, config: BranchConfig, **extra: Any) -> dict[str, Any]:
    """What every ticket event says about its ticket: no token, no customer data."""
    counter = config.counter_by_id(row.counter_id)
    return {
        "id": row.id,
        "number": row.number,
        "service": config.service_by_id(row.service_id).code,
        "priority": row.priority,
        "state": row.state,
        "counter": counter.number if counter else None,
        **extra,
    }


def counter_answer(
    row: Any, config: BranchConfig, *, staff: str | None, current: Any | None
) -> CounterAnswer:
    conf = config.counters[row.number]
    return CounterAnswer(
        number=row.number,
        names=conf.names,
        state=row.state,
        staff=staff,
        pause_reason=row.pause_reason,
        pause_code=row.pause_code,
        services=list(conf.services),
        current=ticket_answer(current, config) if current is not None else None,
    )
