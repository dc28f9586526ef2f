"""The OpenAPI document, written from the route table and the pydantic models."""

from __future__ import annotations

import re
import typing
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server import __version__
from server.domain.access import PERMISSIONS, Action
from server.protocol import ErrorAnswer

from .api import registry

REF = "#/components/schemas/{model}"
PARAM = re.compile(r"\{(\w+)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")


def _model_of(answer: Any) -> type[BaseModel] | None:
    if isinstance(answer, type) and issubclass(answer, BaseModel):
        return answer
    args = typing.get_args(answer)
    if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0]
    return None


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _answer_schema(answer: Any) -> dict[str, Any]:
    model = _model_of(answer)
    if model is None:
        return {"type": "object"}
    if typing.get_origin(answer) is list:
        return {"type": "array", "items": _ref(model)}
    return _ref(model)


def _roles(action: Action) -> list[str]:
    """Who may call: the roles of the authorization table (``public``: anyone)."""
    if action in (Action.PUBLIC, Action.BRANCH_PUBLIC):
        return ["public"]
    return sorted(r.value for r in PERMISSIONS[action])


@cache
def openapi() -> dict[str, Any]:
    routes = registry().routes
    models: set[type[BaseModel]] = {ErrorAnswer}
    for r in routes:
        for m in (r.body, _model_of(r.answer)):
            if m is not None:
                models.add(m)
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF
    )
    paths: dict[str, Any] = {}
    for r in routes:
        path = PARAM.sub(r"{\1}", r.path)
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in PARAM.findall(r.path)
        ] + [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in r.query]
        op: dict[str, Any] = {
            "summary": r.summary,
            "operationId": r.handler.__name__,
            "x-action": r.action.value,
            "x-roles": _roles(r.action),
            "parameters": params,
            "responses": {
                str(r.status): {
                    "description": "success",
                    "content": {"application/json": {"schema": _answer_schema(r.answer)}},
                },
                "4XX": {
                    "description": "refused: the error says why; nothing changed",
                    "content": {"application/json": {"schema": _ref(ErrorAnswer)}},
                },
            },
        }
        if r.body is not None:
            op["requestBody"] = {
                "required": not r.body_optional,
                "content": {"application/json": {"schema": _ref(r.body)}},
            }
        if r.path.endswith("/tickets") and r.method == "POST":
            op["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 128},
                }
            )
        paths.setdefault(path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "branchq", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "branchq_session"},
                "device": {"type": "http", "scheme": "bearer"},
            },
        },
    }
