"""The OpenAPI document as a product: problem details under their own media type, an
example for every JSON body (synthesized from the schemas, so they never go stale), and an
explicit `security` on every operation."""

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from app.core.config import Settings
from app.core.errors import (
    PROBLEM_CONTENT_TYPE,
    AppError,
    PayloadTooLargeError,
    RequestTimeoutError,
)
from app.core.fields import SELECTORS
from app.core.fields import document as document_fields
from app.core.i18n import MESSAGES, translate
from app.schemas.problems import Problem

_DESCRIPTIONS = {
    304: "Not modified.",
    400: "Bad request.",
    401: "Missing or invalid credentials.",
    403: "The caller lacks the permission.",
    404: "No such object, or one the caller may not see.",
    408: "No part of the request body arrived for `DXPLAN_HTTP_BODY_TIMEOUT_SECONDS`; the "
    "connection is closed after this answer.",
    409: "Conflict with the current state.",
    412: "If-Match does not match the current version.",
    413: "The request body exceeds its size limit (`DXPLAN_MAX_BODY_BYTES`; an evidence upload: "
    "`DXPLAN_ATTACHMENT_MAX_BYTES`).",
    415: "A body this route does not read: multipart/form-data anywhere but an evidence "
    "upload, an upload whose `charset` is not UTF-8, JSON not encoded in UTF-8.",
    422: "Invalid parameters or body; each bad field is listed in `errors`.",
    428: "If-Match is required.",
    429: "Too many requests; see Retry-After.",
    503: "The database is unavailable for now; try again after Retry-After seconds.",
}


def _body_media(operation: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    return content


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error responses for a route's `responses=`, documented as problem details."""
    return {
        status: {"model": Problem, "description": _DESCRIPTIONS.get(status, "Error.")}
        for status in statuses
    }


JSON_MEDIA = "application/json"
FORM_MEDIA = "application/x-www-form-urlencoded"
MULTIPART_MEDIA = "multipart/form-data"
SAMPLE_DATETIME = "2026-11-15T08:00:00+07:00"
SAMPLE_DATE = "2026-11-15"
SAMPLE_REQUEST_ID = "5f0c2b8e6a0d4c1f"
LOCATION_HEADER = {
    "description": "Where the created object is read (its own GET; an evidence file's download).",
    "required": True,
    "schema": {"type": "string", "format": "uri-reference"},
}
RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
    "example": Settings.model_fields["db_retry_after_seconds"].default,
}

_FORMATS: dict[str, str] = {
    "date-time": SAMPLE_DATETIME,
    "date": SAMPLE_DATE,
    "time": "08:00:00+07:00",
    "uuid": "3f2b8c1e-9d4a-4e7b-8a61-2c5d9e0f7a13",
    "email": "nguyen.van.a@haiduong.gov.vn",
    "uri": "https://haiduong.gov.vn/",
    "password": "Hd-2358-chuyen-doi-so",
}
# Tried in order against a `pattern` that is not a plain literal such as ^password$.
_PATTERN_CANDIDATES = ("string", "SYT", "nguyen.van.a", "+84 220 3853 555", "A.I.1", "2026")
_LITERAL_PATTERN = re.compile(r"\^([A-Za-z0-9_ :/-]+)\$")
_MISSING = object()

# Problem examples: (code, message key of the detail, its parameters), by status, then
# for operations whose errors say something more precise.
_Problem = tuple[str, str, dict[str, object]]
_PROBLEMS: dict[int, _Problem] = {
    400: ("malformed_request", "malformed_request.detail", {}),
    401: ("unauthorized", "unauthorized.missing", {}),
    403: ("forbidden", "forbidden.detail", {}),
    404: ("not_found", "not_found.entity", {}),
    409: ("conflict", "conflict.invalid_state", {}),
    408: (
        "request_timeout",
        "request_timeout.detail",
        RequestTimeoutError(Settings.model_fields["http_body_timeout_seconds"].default).params,
    ),
    412: ("precondition_failed", "precondition_failed.detail", {}),
    413: (
        "payload_too_large",
        "payload_too_large.detail",
        PayloadTooLargeError(Settings.model_fields["max_body_bytes"].default).params,
    ),
    415: ("unsupported_media_type", "unsupported_media_type.multipart", {}),
    422: ("validation_error", "validation_error.detail", {}),
    428: ("precondition_required", "precondition_required.detail", {}),
    429: ("too_many_requests", "too_many_requests.detail", {"seconds": 60}),
    503: (
        "database_unavailable",
        "database_unavailable.detail",
        {"seconds": Settings.model_fields["db_retry_after_seconds"].default},
    ),
}
_OPERATION_PROBLEMS: dict[tuple[str, int], _Problem] = {
    ("auth-token", 400): ("invalid_grant", "invalid_grant.detail", {}),
    ("auth-refresh", 401): ("unauthorized", "unauthorized.invalid_refresh", {}),
    ("reports-create", 404): ("not_found", "not_found.entity", {"entity": "period", "key": 9999}),
    ("reports-create", 409): ("conflict", "conflict.report_exists", {}),
    ("reports-comments-create", 409): (
        "conflict",
        "conflict.invalid_state",
        {"action": "comment", "state": "draft"},
    ),
    ("reorganisations-create", 409): (
        "conflict",
        "conflict.reorganisation_exists",
        {"code": "HP-2025-07-CITY"},
    ),
    ("users-create", 409): ("conflict", "conflict.username_taken", {"username": "tran.thi.b"}),
    ("users-update", 409): ("conflict", "conflict.self_lockout", {}),
    ("periods-update", 409): ("conflict", "conflict.period_closed", {}),
    ("webhooks-deliveries-redeliver", 409): ("conflict", "conflict.delivery_pending", {}),
}


_UNKNOWN_PLAN = "9999/KH-UBND"
_PLAN_NOT_FOUND: _Problem = ("plan_not_found", "plan_not_found.detail", {"key": _UNKNOWN_PLAN})
_PLAN_404 = "No plan has the code `plan` names (`plan_not_found`)."


def _oauth2_codes() -> set[str]:
    """Codes rendered with RFC 6749's `error` member too (AppError.oauth2)."""
    codes: set[str] = set()
    pending = list(AppError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.oauth2:
            codes.add(cls.code)
    return codes


_OAUTH2_CODES = _oauth2_codes()
_ITEM_CREATE = re.compile(r"^reports-(task-updates|indicator-values|document-updates)-create$")
# What a 404 names: by the last path parameter (`<entity>_id`), else by the tag.
_TAG_ENTITIES = {
    "plan": "plan",
    "sections": "section",
    "tasks": "task",
    "indicators": "indicator",
    "documents": "document",
    "agencies": "agency",
}
_UNKNOWN_KEYS = {"task": "Z.9", "section": "IX.9", "indicator": "CT-2099-99", "agency": "XYZ"}

SECURITY_NOTE = """
**Authentication**: OAuth2 password flow (`POST /api/v1/auth/token`), then
`Authorization: Bearer <access token>`. Every operation states its `security`: `[]` is
public (no token needed; one sent is ignored); a bearer requirement alone needs a token
(401 without one); `[{}, bearer]` makes the token optional: without it the public view is
returned, with one the caller also sees what their role and agency may (ad hoc periods that
ask their agency, their agency's reports and items in the sync feed), and an invalid or
expired token is still 401.
"""


class _Examples:
    """Synthesizes examples from the document's own schemas."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self.stack: list[str] = []

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema behind a $ref and its non-null branch, for looking at constraints."""
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target: dict[str, Any] = self.components.get(ref.rsplit("/", 1)[-1], {})
            return self.resolve(target)
        for key in ("anyOf", "oneOf"):
            branches = [b for b in schema.get(key, []) if b.get("type") != "null"]
            if branches:
                return self.resolve(branches[0])
        return schema

    def sample(self, schema: Any, *, request: bool) -> tuple[Any, bool]:
        """(value, informative): informative when the value comes from the schema's own
        examples, enum, const, default, format or literal pattern rather than a filler.
        In request bodies optional fields are shown only when informative."""
        if not isinstance(schema, dict):
            return None, False
        hint = _hint(schema)
        if hint is not _MISSING:
            return hint, True
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name in self.stack or name not in self.components:
                return {}, False
            self.stack.append(name)
            try:
                return self.sample(self.components[name], request=request)
            finally:
                self.stack.pop()
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [b for b in schema[key] if b.get("type") != "null"]
                if not branches:
                    return None, False
                return self.sample(branches[0], request=request)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            informative = False
            for part in schema["allOf"]:
                value, info = self.sample(part, request=request)
                if isinstance(value, dict):
                    merged.update(value)
                informative = informative or info
            return merged, informative
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None and ("properties" in schema or "additionalProperties" in schema):
            kind = "object"
        if kind == "object":
            return self._object(schema, request=request)
        if kind == "array":
            value, info = self.sample(schema.get("items", {}), request=request)
            count = 0 if schema.get("maxItems") == 0 else max(1, schema.get("minItems", 1))
            return [value] * count, info
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer"), False
        if kind == "boolean":
            return True, False
        return None, False

    def _object(self, schema: dict[str, Any], *, request: bool) -> tuple[dict[str, Any], bool]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", []))
        result: dict[str, Any] = {}
        informative = False
        for name, sub in properties.items():
            if request and name not in required and sub.get("deprecated"):
                continue  # a request example shows the current names only
            value, info = self.sample(sub, request=request)
            if request and name not in required and not info:
                continue
            result[name] = value
            informative = informative or info
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, dict) and extra:
            value, informative = self.sample(extra, request=request)
            result["key"] = value
        return result, informative

    def restore_nulls(self, node: Any) -> None:
        """Put back the nulls of schema `examples`. FastAPI serializes the document with
        `exclude_none`, which also drops the None values inside examples; a required
        nullable property missing from an example was null, and is null again."""
        if isinstance(node, dict):
            if isinstance(node.get("examples"), list):
                for example in node["examples"]:
                    self._nulls(example, node)
            for value in node.values():
                self.restore_nulls(value)
        elif isinstance(node, list):
            for value in node:
                self.restore_nulls(value)

    def _nulls(self, value: Any, schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref")
        if isinstance(ref, str):
            self._nulls(value, self.components.get(ref.rsplit("/", 1)[-1]))
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(key, []):
                self._nulls(value, branch)
        if isinstance(value, dict):
            properties: dict[str, Any] = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value and name in properties and self._nullable(properties[name]):
                    value[name] = None
            for name, item in value.items():
                self._nulls(item, properties.get(name, schema.get("additionalProperties")))
        elif isinstance(value, list):
            for item in value:
                self._nulls(item, schema.get("items"))

    def _nullable(self, schema: dict[str, Any]) -> bool:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self._nullable(self.components.get(ref.rsplit("/", 1)[-1], {}))
        kind = schema.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            return True
        return any(self._nullable(b) for b in schema.get("anyOf", []) + schema.get("oneOf", []))

    def add(self, media: dict[str, Any] | None, *, request: bool) -> None:
        if media is None or "example" in media or "examples" in media or "schema" not in media:
            return
        media["example"] = self.sample(media["schema"], request=request)[0]

    def problem(
        self, path: str, operation: dict[str, Any], status: int, *, plan_only: bool = False
    ) -> dict[str, Any]:
        """A problem details object as the error handlers would render it (in Vietnamese,
        the default language). ``plan_only``: the operation's only 404 is an unknown plan."""
        operation_id = operation.get("operationId", "")
        code, key, params = _OPERATION_PROBLEMS.get((operation_id, status)) or _PROBLEMS.get(
            status, ("http_error", "http_error", {})
        )
        if status == 404 and plan_only:
            code, key, params = _PLAN_NOT_FOUND
        path_params = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
        values = {p["name"]: self.sample(p.get("schema", {}), request=True)[0] for p in path_params}
        overridden = (operation_id, status) in _OPERATION_PROBLEMS or plan_only
        if status == 404 and not overridden:
            entity, missing = self._missing(operation, path_params)
            if path_params:
                values[path_params[-1]["name"]] = missing
            params = {"entity": entity, "key": missing}
        elif status == 413 and MULTIPART_MEDIA in _body_media(operation):
            upload_limit = Settings.model_fields["attachment_max_bytes"].default
            params = PayloadTooLargeError(upload_limit).params
        elif status == 415 and MULTIPART_MEDIA in _body_media(operation):
            key = "unsupported_media_type.upload_charset"
        elif status == 415 and JSON_MEDIA in _body_media(operation):
            key = "unsupported_media_type.json_encoding"
        elif status == 409 and not overridden:
            if _ITEM_CREATE.match(operation_id):
                key = "conflict.item_exists"
            # Attachments are allowed while their item may be updated.
            action = operation_id.rsplit("-", 1)[-1]
            action = "update" if "attachments" in operation_id else action
            state = "submitted" if action in ("edit", "update", "delete", "submit") else "approved"
            params = {"action": action, "state": state}
        if "entity" in params:
            params = {**params, "entity": translate(f"entity.{params['entity']}", "vi")}
        example: dict[str, Any] = {
            "type": f"urn:dxplan:problem:{code}",
            "title": translate(code, "vi"),
            "status": status,
            "detail": translate(key, "vi", **params),
            "instance": re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path),
            "code": code,
            "request_id": SAMPLE_REQUEST_ID,
        }
        if code == "validation_error":
            example["errors"] = [self._field_error(operation)]
        if code in _OAUTH2_CODES:
            example["error"] = code
        return example

    def _missing(
        self, operation: dict[str, Any], path_params: list[dict[str, Any]]
    ) -> tuple[str, object]:
        """The entity a 404 names and a key that names none."""
        tags = operation.get("tags") or [""]
        entity = _TAG_ENTITIES.get(tags[0], "item")
        if not path_params:
            return entity, "2358/KH-UBND" if entity == "plan" else "?"
        last = path_params[-1]
        name = last["name"].removesuffix("_id")
        if f"entity.{name}" in MESSAGES:
            entity = name
        if self.resolve(last.get("schema", {})).get("type") == "integer":
            return entity, 9999
        return entity, _UNKNOWN_KEYS.get(entity, "Z.9")

    def _field_error(self, operation: dict[str, Any]) -> dict[str, Any]:
        """One entry of `errors`: a missing body field, else a bad parameter."""
        content = operation.get("requestBody", {}).get("content", {})
        for media in (JSON_MEDIA, FORM_MEDIA):
            body = self.resolve(content.get(media, {}).get("schema", {}))
            for name in body.get("required", []):
                return _field_problem("body", name, "missing", {})
        order = {"path": 0, "query": 1, "header": 2}
        parameters = sorted(
            (p for p in operation.get("parameters", []) if p.get("in") in order),
            key=lambda p: order[p["in"]],
        )
        for parameter in parameters:
            schema = self.resolve(parameter.get("schema", {}))
            where, name = parameter["in"], parameter["name"]
            if schema.get("type") == "integer":
                if where != "path" and "maximum" in schema:
                    return _field_problem(where, name, "less_than_equal", {"le": schema["maximum"]})
                return _field_problem(where, name, "int_parsing", {})
            if "enum" in schema:
                expected = [repr(v) for v in schema["enum"]]
                text = " or ".join(
                    [", ".join(expected[:-1]), expected[-1]] if expected[:-1] else expected
                )
                return _field_problem(where, name, "literal_error", {"expected": text})
            if "maxLength" in schema:
                return _field_problem(
                    where, name, "string_too_long", {"max_length": schema["maxLength"]}
                )
        return _field_problem("body", "body", "missing", {})


def _field_problem(where: str, name: str, rule: str, context: dict[str, object]) -> dict[str, Any]:
    return {
        "loc": [where, name],
        "field": name,
        "type": rule,
        "message": translate(f"field.{rule}", "vi", **context),
    }


def _hint(schema: dict[str, Any]) -> Any:
    """A value the schema itself gives: examples, example, const, enum or default."""
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    if "example" in schema:
        return schema["example"]
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    default = schema.get("default")
    if default is not None and default != "" and default != [] and default != {}:
        return default
    return _MISSING


def _string(schema: dict[str, Any]) -> tuple[str, bool]:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        return _FORMATS[fmt], True
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        literal = _LITERAL_PATTERN.fullmatch(pattern)
        if literal:
            return literal.group(1), True
        for candidate in _PATTERN_CANDIDATES:
            if re.search(pattern, candidate):
                return candidate, False
    value = "string"
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if len(value) < low:
        value = value.ljust(low, "x")
    if high is not None:
        value = value[:high]
    return value, False


def _number(schema: dict[str, Any], *, integer: bool) -> int | float:
    low = schema.get("minimum")
    if "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
    high = schema.get("maximum")
    if "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
    value: int | float = 1
    if low is not None and value < low:
        value = math.ceil(low) if integer else low
    if high is not None and value > high:
        value = math.floor(high) if integer else high
    return value if integer else float(value)


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependency_calls(sub)


def _operations_depending_on(app: FastAPI, target: Callable[..., Any]) -> set[tuple[str, str]]:
    """(path, method) of the operations that depend on ``target``, directly or not."""
    found: set[tuple[str, str]] = set()
    # Route contexts, not app.routes: included routers are kept nested, under their prefix.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not context.include_in_schema:
            continue
        if any(call is target for call in _dependency_calls(route.dependant)):
            path = context.path_format or route.path_format
            found.update((path, method.lower()) for method in context.methods or ())
    return found


# Standard request headers a route declared without words of its own.
_HEADER_DESCRIPTIONS = {
    "if-match": "The object's ETag, as its last GET or write answered it (with or without "
    "the answer's hash). Required: 428 when missing, 412 when the object changed since.",
}


def _finish(app: FastAPI, schema: dict[str, Any]) -> None:
    """Security, examples and problem details on every operation."""
    from app.deps import (  # app.deps builds on app.core
        get_current_plan,
        get_optional_user,
        get_session,
    )

    components: dict[str, Any] = schema["components"]["schemas"]
    schemes = list(schema["components"].get("securitySchemes", {}))
    # Operations that take a token when one is sent: public, with more for the signed-in.
    optional = _operations_depending_on(app, get_optional_user)
    # Operations that use the database answer 503 while it is unavailable (app.core.outage).
    database = _operations_depending_on(app, get_session)
    # Operations scoped to a plan take `plan=`: an unknown one is 404 plan_not_found.
    planned = _operations_depending_on(app, get_current_plan)
    # A `fields=` answer is documented as the full or the partial representation.
    for select, mode in SELECTORS.items():
        for path, method in _operations_depending_on(app, select):
            operation = schema["paths"].get(path, {}).get(method)
            if operation is not None and "200" in operation.get("responses", {}):
                document_fields(components, operation["responses"]["200"], mode)
    examples = _Examples(components)
    examples.restore_nulls(components)
    examples.restore_nulls(schema.get("paths", {}))
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            if (path, method) in optional:
                operation["security"] = [{}, *({name: []} for name in schemes)]
            else:
                operation.setdefault("security", [])
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and not parameter.get("description"):
                    text = _HEADER_DESCRIPTIONS.get(parameter["name"].lower())
                    if text:
                        parameter["description"] = text
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                # Bounded before it is read, in size and time (app.core.body_limit); in a
                # media type and encoding the NUL rule can check (app.core.hygiene).
                for refusal in (408, 413, 415):
                    responses.setdefault(str(refusal), {"description": _DESCRIPTIONS[refusal]})
            if (path, method) in database:
                responses.setdefault("503", {"description": _DESCRIPTIONS[503]})
            plan_only = False
            if (path, method) in planned:
                if "404" in responses:
                    responses["404"]["description"] += " " + _PLAN_404
                else:
                    responses["404"] = {"description": _PLAN_404}
                    plan_only = True
                responses.setdefault("422", {"description": _DESCRIPTIONS[422]})
            if "503" in responses:
                responses["503"].setdefault("headers", {"Retry-After": RETRY_AFTER_HEADER})
            if "201" in responses:
                responses["201"].setdefault("headers", {}).setdefault("Location", LOCATION_HEADER)
            content = operation.get("requestBody", {}).get("content", {})
            for media in (JSON_MEDIA, FORM_MEDIA):
                examples.add(content.get(media), request=True)
            for status, response in operation.get("responses", {}).items():
                if not status.isdigit():
                    continue
                if int(status) >= 400:
                    example = examples.problem(
                        path, operation, int(status), plan_only=plan_only and status == "404"
                    )
                    response["content"] = {
                        PROBLEM_CONTENT_TYPE: {"schema": problem_ref, "example": example}
                    }
                elif status.startswith("2"):
                    examples.add(response.get("content", {}).get(JSON_MEDIA), request=False)
    schema["info"]["description"] = schema["info"].get("description", "") + SECURITY_NOTE


# PostgreSQL text cannot hold NUL, so the app refuses it in every string it reads
# (app.core.hygiene, 422 nul_character); the contract says so on every free-text string.
NUL_FREE_PATTERN = "^[^\\x00]*$"
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "propertyNames")
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")
# Keywords under which a string already names what it admits, or holds bytes, not text.
_STRING_BOUNDED = ("pattern", "enum", "const", "format", "contentMediaType", "contentEncoding")


def _forbid_nul(schema: Any) -> None:
    """Adds the NUL-free pattern to every free-text string in ``schema`` (walked with a
    stack): strings with a pattern, enum, const or format already say what they admit."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        is_string = kind == "string" or (isinstance(kind, list) and "string" in kind)
        if is_string and not any(key in node for key in _STRING_BOUNDED):
            node["pattern"] = NUL_FREE_PATTERN
        stack.extend(sub for key in _SCHEMA_LISTS for sub in node.get(key, ()))
        stack.extend(node[key] for key in _SCHEMA_VALUES if key in node)
        stack.extend(sub for key in _SCHEMA_MAPS for sub in node.get(key, {}).values())


def _require_if_match(parameter: dict[str, Any]) -> None:
    """If-Match on an operation that answers 428 without it is a required header."""
    parameter["required"] = True
    schema = parameter.get("schema", {})
    variants = [v for v in schema.get("anyOf", ()) if v.get("type") != "null"]
    if len(variants) == 1:
        rest = {key: value for key, value in schema.items() if key != "anyOf"}
        parameter["schema"] = {**variants[0], **rest}


def _nul_free_form(schema: dict[str, Any], body: dict[str, Any]) -> None:
    """A form may carry fields the operation ignores; they are text, and NUL-free too."""
    ref = body.get("$ref", "")
    target = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1]) if ref else body
    if isinstance(target, dict) and "additionalProperties" not in target:
        target["propertyNames"] = {"pattern": NUL_FREE_PATTERN}
        target["additionalProperties"] = {"type": "string", "pattern": NUL_FREE_PATTERN}


def _strict_requests(schema: dict[str, Any]) -> None:
    """What the app refuses for every request, stated in the contract so that every
    request it admits is served: no NUL in any string, If-Match where 428 is documented."""
    for component in schema.get("components", {}).get("schemas", {}).values():
        _forbid_nul(component)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            for parameter in operation.get("parameters", []):
                header = parameter.get("in") == "header" and parameter["name"].lower()
                if header == "if-match" and "428" in responses:
                    _require_if_match(parameter)
                _forbid_nul(parameter.get("schema"))
            for name, media in operation.get("requestBody", {}).get("content", {}).items():
                _forbid_nul(media.get("schema"))
                if name == FORM_MEDIA:
                    _nul_free_form(schema, media.get("schema", {}))
            for response in responses.values():
                for media in response.get("content", {}).values():
                    _forbid_nul(media.get("schema"))


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for name, sub in components["Problem"].pop("$defs", {}).items():
            components.setdefault(name, sub)
        _finish(app, schema)
        _strict_requests(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
