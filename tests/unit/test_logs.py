"""What :func:`server.logs.redact` hides in a log line, and what it leaves readable."""

from __future__ import annotations

import logging
import sys

import pytest

from server.logs import RedactSecrets, redact

TOKEN = "kz8fOAK_j-dgwNbXZjIF8Q"  # the shape of a ticket token (secrets.token_urlsafe(16))


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        (f"GET /t/{TOKEN} HTTP/1.1", "GET /t/*** HTTP/1.1"),
        (f"POST /api/v1/tickets/{TOKEN}/cancel", "POST /api/v1/tickets/***/cancel"),
        (f"GET /api/v1/tickets/{TOKEN}/qr.svg", "GET /api/v1/tickets/***/qr.svg"),
        (f"GET /api/v1/complaints/{TOKEN}", "GET /api/v1/complaints/***"),
        (f"POST /api/v1/bookings/{TOKEN}/cancel", "POST /api/v1/bookings/***/cancel"),
        ("GET /kiosk/demo?token=demo-kiosk&lang=en", "GET /kiosk/demo?token=***&lang=en"),
        ("GET /kiosk/3?code=ABCD-1234", "GET /kiosk/3?code=***"),
        ('hello {"type": "hello", "token": "demo-display"}', 'hello {"type": "hello", "token": "***"}'),
        ("body {'password': 'demo-pass'}", "body {'password': '***'}"),
        ("Authorization: Bearer demo-kiosk", "Authorization: Bearer ***"),
        (f"DETAIL:  Key (token)=({TOKEN}) already exists.", "DETAIL:  Key (token)=(***)"),
        (f"[SQL: SELECT 1 WHERE token = ?]\n[parameters: ('{TOKEN}',)]",
         "[SQL: SELECT 1 WHERE token = ?]\n[parameters: ***]"),
    ],
)
def test_tokens_codes_and_passwords_are_hidden_wherever_they_appear_in_a_line(line, logged):
    assert redact(line) == logged


@pytest.mark.parametrize(
    "line",
    [
        "POST /api/v1/branches/demo/tickets/12/requeue",
        "POST /api/v1/branches/demo/counters/3/call-next",
        'answer {"error": {"code": "busy", "message": "try again"}}',
        "GET /api/v1/branches/demo/complaints/41",
    ],
)
def test_ids_error_codes_and_ordinary_paths_stay_readable(line):
    assert redact(line) == line


def test_the_filter_redacts_the_message_its_arguments_and_the_traceback():
    try:
        raise LookupError(f"nothing at /api/v1/tickets/{TOKEN}")
    except LookupError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed on %s", (f"/t/{TOKEN}",),
                                   exc_info=sys.exc_info())
    assert RedactSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert TOKEN not in text
    assert "failed on /t/***" in text and "nothing at /api/v1/tickets/***" in text
