"""Logging for the ``branchq`` command: one format, and no secret in any line.

A ticket's token is all a phone needs to see, cancel or rate the ticket, and a device's
token or one-time enrollment code is all a kiosk needs to act for the branch; a log file
is read by more people than may hold either. So every line that reaches a handler of the
root logger passes :class:`RedactSecrets`, which replaces them with ``***`` wherever they
appear: in paths (``/t/<token>``, ``/api/v1/tickets/<token>/cancel``), in query strings
(``?token=``, ``?code=``), in JSON or Python reprs (``"token": "…"``), in
``Authorization`` headers and in PostgreSQL's ``Key (token)=(…)`` details, in the message
and in its traceback alike. Statement parameters are kept out of SQLAlchemy's error
messages at the source (``hide_parameters``, :mod:`server.store.engine`), and hidden here
too should an engine made elsewhere log them.

The HTTP access log (:class:`AccessLogger`, logger ``aiohttp.access``) writes one line per
request with the path already redacted.
"""

from __future__ import annotations

import logging
import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HIDDEN = "***"

#: (pattern, replacement) pairs; each keeps what names the secret and hides the secret.
_SECRETS: list[tuple[re.Pattern[str], str]] = [
    # a token or code in a path: the phone's page, the public ticket, booking and complaint routes
    (re.compile(r"(/(?:t|tickets|bookings|complaints)/)[A-Za-z0-9_-]{8,64}(?![A-Za-z0-9_-])"),
     rf"\g<1>{HIDDEN}"),
    # in a query string: a device page's ?token=, an enrollment ?code=
    (re.compile(r"([?&](?:token|code)=)[^&\s\"'#]+"), rf"\g<1>{HIDDEN}"),
    # in JSON or a Python repr: "token": "…", 'password': '…'
    (re.compile(r"""(["'](?:token|ticket_token|password)["']\s*:\s*["'])[^"']*"""),
     rf"\g<1>{HIDDEN}"),
    (re.compile(r"(Bearer\s+)[^\s\"',]+", re.IGNORECASE), rf"\g<1>{HIDDEN}"),
    # SQLAlchemy's statement parameters, from any engine made without hide_parameters
    (re.compile(r"\[parameters: [^\n]*"), f"[parameters: {HIDDEN}]"),
    # PostgreSQL's detail of a constraint violation: Key (token)=(…)
    (re.compile(r"(Key \([^)]*\)=\()[^\n]*"), rf"\g<1>{HIDDEN})"),
]


#: What every pattern above needs to match: most lines have none of it, and one search is cheap.
_MAYBE_SECRET = re.compile(r"/(?:t|tickets|bookings|complaints)/|token|code=|password|bearer|Key \(|\[parameters: ",
                           re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every token, device token, code and password replaced by ``***``."""
    if not _MAYBE_SECRET.search(text):
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """A handler filter: the record's message, traceback and stack with secrets redacted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatted here once, redacted; the handler's formatter uses exc_text as it is.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr in :data:`FORMAT`, every line through :class:`RedactSecrets`."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
    logging.getLogger("alembic").setLevel(logging.WARNING)


class AccessLogger(AbstractAccessLogger):
    """One line per request: ``<address> "<method> <path> HTTP/1.1" <status> <bytes> <seconds>s``.

    The path and query string are redacted (:func:`redact`) before they are logged, so no
    handler, filter or structured formatter ever sees a token.
    """

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        version = request.version
        self.logger.info(
            '%s "%s %s HTTP/%d.%d" %d %d %.3fs',
            request.remote or "-", request.method, redact(request.path_qs),
            version.major, version.minor, response.status, response.body_length, time,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
