"""The OpenAPI document, written from the route table and the very models the views validate with.

Every part of an operation comes from what the server checks, so the document accepts
nothing the server refuses:

- path parameters: the router's own patterns (``{number:[0-9]{1,4}}``), or the route's
  ``params`` model where the view checks more (a refusal is then 400, not 404);
- query parameters and headers: the route's ``query`` and ``headers`` models;
- the body: the ``body`` model, in the media type the view reads (415 for any other);
  text may hold no NUL character (:class:`server.protocol.Body` refuses it), which the
  document says with a pattern on every string that has none of its own;
- the answer: the ``answer`` type (a list as an array) in its media type, or a file.

Rules across fields (``model_validator``) are stated in the models' own schemas
(``json_schema_extra``: ``oneOf`` for "exactly one of service or counter").
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

from server import __version__
from server.domain.access import PERMISSIONS, Action
from server.protocol import ErrorAnswer

from .api import JSON, Params, Route, TextBody, registry

REF = "#/components/schemas/{model}"
PARAM = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})*))?\}")
#: What the router matches where a path parameter has no pattern of its own: one segment.
SEGMENT = "[^{}/]+"
#: Text without a NUL character.
NO_NUL = "^[^\\u0000]*$"
FILE = {"type": "string", "format": "binary"}


class InputSchema(GenerateJsonSchema):
    """Pydantic's schemas, where input text is refused with a NUL character in it (``Body``, ``Params``)."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        value = super().str_schema(schema)
        if self.mode == "validation" and "pattern" not in value:
            value["pattern"] = NO_NUL
        return value

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        value = super().dict_schema(schema)
        if self.mode == "validation" and "propertyNames" not in value:
            keys = schema.get("keys_schema")
            if keys is not None and keys.get("type") == "str":
                value["propertyNames"] = {"pattern": NO_NUL}
        return value


def _roles(action: Action) -> list[str]:
    """Who may call: the roles of the authorization table (``public``: anyone)."""
    if action in (Action.PUBLIC, Action.BRANCH_PUBLIC):
        return ["public"]
    return sorted(r.value for r in PERMISSIONS[action])


def _inputs(r: Route) -> list[tuple[Any, JsonSchemaMode]]:
    """The types of one route that the document describes, each with its side (in or out)."""
    types: list[tuple[Any, JsonSchemaMode]] = []
    if r.body is not None and r.body is not TextBody:
        types.append((r.body, "validation"))
    if r.text_of is not None:
        types.append((r.text_of, "validation"))
    for model in (r.params, r.query, r.headers):
        if model is not None:
            types.append((model, "validation"))
    if r.answer is not None:
        types.append((r.answer, "serialization"))
    return types


def _key(t: Any) -> str:
    return repr(t)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without its ``null`` branch: a query has no null, only absence."""
    options = schema.get("anyOf")
    if options is None:
        return schema
    rest = [o for o in options if o.get("type") != "null"]
    if len(rest) != 1:
        return schema
    out = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**rest[0], **out}


class _Document:
    """The schemas of every type, made in one pass so that shared models are named once."""

    def __init__(self, routes: list[Route]) -> None:
        wanted: dict[tuple[str, JsonSchemaMode], TypeAdapter[Any]] = {
            (_key(ErrorAnswer), "serialization"): TypeAdapter(ErrorAnswer)
        }
        for r in routes:
            for t, mode in _inputs(r):
                wanted.setdefault((_key(t), mode), TypeAdapter(t))
        schemas, defs = TypeAdapter.json_schemas(
            [(key, mode, adapter) for (key, mode), adapter in wanted.items()],
            ref_template=REF, schema_generator=InputSchema,
        )
        self.schemas = schemas
        self.defs: dict[str, Any] = defs.get("$defs", {})

    def schema(self, t: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        return self.schemas[(_key(t), mode)]

    def resolved(self, t: type[BaseModel]) -> dict[str, Any]:
        """The object schema of a parameters model (its definition, not a reference to it)."""
        ref = self.schema(t, "validation")["$ref"]
        return self.defs[ref.rsplit("/", 1)[-1]]

    def parameters(self, model: type[Params] | None, where: str) -> dict[str, dict[str, Any]]:
        if model is None:
            return {}
        schema = self.resolved(model)
        required = set(schema.get("required", ()))
        found: dict[str, dict[str, Any]] = {}
        for name, prop in schema.get("properties", {}).items():
            prop = _without_null(dict(prop))
            param: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required}
            description = prop.pop("description", None)
            prop.pop("title", None)
            if prop.get("default", 0) is None:
                del prop["default"]  # left out, not null
            if description:
                param["description"] = description
            param["schema"] = prop
            found[name] = param
        return found


def _path_parameters(doc: _Document, r: Route) -> list[dict[str, Any]]:
    """Each path parameter with the router's pattern, or the ``params`` model's schema."""
    checked = doc.parameters(r.params, "path")
    params = []
    for name, pattern in PARAM.findall(r.path):
        if name in checked:
            params.append(checked[name])
            continue
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "string", "pattern": f"^(?:{pattern or SEGMENT})$"}})
    return params


def _operation(doc: _Document, r: Route) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": REF.format(model=ErrorAnswer.__name__)}}}
    if r.answer is not None:
        answer = doc.schema(r.answer, "serialization")
    else:
        answer = {} if r.content_type == JSON else FILE
    responses: dict[str, Any] = {
        str(r.status): {"description": "success", "content": {r.content_type: {"schema": answer}}},
        "4XX": {"description": "refused: the error says why; nothing changed", "content": error},
    }
    for status in r.errors:
        responses[str(status)] = {"description": "the server cannot do it now", "content": error}
    op: dict[str, Any] = {
        "summary": r.summary,
        "operationId": r.name,
        "x-action": r.action.value,
        "x-roles": _roles(r.action),
        "parameters": [
            *_path_parameters(doc, r),
            *doc.parameters(r.query, "query").values(),
            *doc.parameters(r.headers, "header").values(),
        ],
        "responses": responses,
    }
    if r.body is not None:
        if r.body is TextBody:
            body = doc.schema(r.text_of, "validation") if r.text_of is not None else {"type": "string"}
        else:
            body = doc.schema(r.body, "validation")
        op["requestBody"] = {"required": not r.body_optional, "content": {r.body_types[0]: {"schema": body}}}
    return op


@cache
def openapi() -> dict[str, Any]:
    routes = registry().routes
    doc = _Document(routes)
    paths: dict[str, Any] = {}
    for r in routes:
        path = PARAM.sub(r"{\1}", r.path)
        paths.setdefault(path, {})[r.method.lower()] = _operation(doc, r)
    return {
        "openapi": "3.1.0",
        "info": {"title": "branchq", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": doc.defs,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "branchq_session"},
                "device": {"type": "http", "scheme": "bearer"},
            },
        },
    }
