"""The OpenAPI document as a product: problem details under their own media type."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.core.errors import PROBLEM_CONTENT_TYPE
from app.schemas.problems import Problem

_DESCRIPTIONS = {
    304: "Not modified.",
    400: "Bad request.",
    401: "Missing or invalid credentials.",
    403: "The caller lacks the permission.",
    404: "No such object, or one the caller may not see.",
    409: "Conflict with the current state.",
    412: "If-Match does not match the current version.",
    413: "The upload exceeds the size limit.",
    422: "Invalid parameters or body; each bad field is listed in `errors`.",
    428: "If-Match is required.",
    429: "Too many requests; see Retry-After.",
    503: "A dependency (the database) is unavailable.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error responses for a route's `responses=`, documented as problem details."""
    return {
        status: {"model": Problem, "description": _DESCRIPTIONS.get(status, "Error.")}
        for status in statuses
    }


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
        problem_ref = {"$ref": "#/components/schemas/Problem"}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    if not status.isdigit() or int(status) < 400:
                        continue
                    response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": problem_ref}}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for name, sub in components["Problem"].pop("$defs", {}).items():
            components.setdefault(name, sub)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
