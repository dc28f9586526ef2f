"""Every failure leaves as ``{"error": {"code", "message"}}``: 503 when the database is busy, other 5xx for bugs."""

from __future__ import annotations

import logging

import orjson
from aiohttp import web
from pydantic import ValidationError

from server.domain.errors import (
    BranchqError,
    Busy,
    Conflict,
    Forbidden,
    InvalidConfig,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)

log = logging.getLogger(__name__)

STATUS: list[tuple[type[BranchqError], int]] = [
    (NotFound, 404),
    (InvalidConfig, 422),
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (RateLimited, 429),
    (Busy, 503),
]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_config",
    429: "rate_limited",
}


#: Headers of an aiohttp HTTP error that the JSON error keeps.
KEPT_HEADERS = ("Allow", "Retry-After")


def error_response(status: int, code: str, message: str, **extra) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps({"error": {"code": code, "message": message, **extra}}),
        content_type="application/json",
    )


def status_of(error: BranchqError) -> int:
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 400


def describe_validation(error: ValidationError) -> str:
    """A short, readable account of what was wrong: ``service: String should match …``."""
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


#: On every answer. Pages load scripts, styles and media from this server only, open sockets
#: to it only, and may not be framed (clickjacking); nothing is sniffed into another type, and
#: no address with a ticket token in it leaves in a Referer.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "media-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@web.middleware
async def security_headers(request: web.Request, handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as e:  # redirects and the like: headers on them too
        e.headers.update(SECURITY_HEADERS)
        raise
    if not response.prepared:  # a websocket or a stream already sent its headers
        response.headers.update(SECURITY_HEADERS)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BranchqError as e:
        response = error_response(status_of(e), e.code, e.message, **e.details())
        if isinstance(e, RateLimited | Busy):
            response.headers["Retry-After"] = str(e.retry_after)
        return response
    except ValidationError as e:
        return error_response(400, "invalid_input", describe_validation(e))
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = HTTP_CODES.get(e.status, "http_error")
        message = e.reason if e.status != 413 else "request body too large"
        response = error_response(e.status, code, message)
        for name in KEPT_HEADERS:  # 405 must say which methods there are (RFC 9110, 15.5.6)
            if name in e.headers:
                response.headers[name] = e.headers[name]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; it has been logged")
