"""`fields=`: a partial answer with only the named fields, for phones on poor networks.

A route opts in with `dependencies=[fields_of(Model)]`: for a page (a model whose `items`
is a list of objects) the names are fields of each item, for `fields_of(Item, each=True)`
(a bare JSON array) of each element, otherwise of the object itself. The dependency checks
the value and marks the request; ConditionalGetMiddleware drops the other fields before it
computes the ETag, so each selection is its own representation.

The contract states both halves (app.core.openapi calls `document`): the parameter's
`pattern` admits exactly the names the server accepts, a comma-separated list with optional
spaces (the server judges a value by that same pattern, so what the contract admits is
served and anything else is 422 `unknown_field` naming the allowed fields), and the answer
is `anyOf` the full schema and a partial one, the same object without `required`.
"""

import copy
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

import orjson
from fastapi import Depends, Query, Request
from pydantic import BaseModel

from app.core.errors import FieldValidationError

SCOPE_KEY = "dxplan.fields"
MAX_LENGTH = 1000
PARTIAL_SUFFIX = "Partial"
Mode = Literal["object", "items", "each"]
Selection = tuple[Mode, list[str]]
# Each selection dependency with what it selects from, for documenting the operations
# that depend on it.
SELECTORS: dict[Callable[..., Any], Mode] = {}


def _items_model(model: type[BaseModel]) -> type[BaseModel] | None:
    field = model.model_fields.get("items")
    if field is None:
        return None
    args = get_args(field.annotation)
    if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0]
    return None


def fields_pattern(allowed: list[str]) -> str:
    name = "(" + "|".join(re.escape(n) for n in allowed) + ")"
    return f"^ *{name} *(, *{name} *)*$"


def fields_of(model: type[BaseModel], *, each: bool = False) -> Any:
    item = None if each else _items_model(model)
    mode: Mode = "each" if each else "items" if item else "object"
    target = item or model
    allowed = [*target.model_fields, *target.model_computed_fields]
    pattern = fields_pattern(allowed)
    description = (
        "Comma-separated names of the fields to return"
        + ("" if mode == "object" else " for each item")
        + "; the others are left out, required ones included, so the answer is a partial "
        "representation (the `…Partial` schema of the answer). Any of: "
        + ", ".join(f"`{name}`" for name in allowed)
        + "; anything else is 422 `unknown_field`."
    )

    async def select(
        request: Request,
        fields: Annotated[
            str | None,
            Query(
                max_length=MAX_LENGTH,
                description=description,
                examples=[",".join(allowed[:2])],
                json_schema_extra={"pattern": pattern},
            ),
        ] = None,
    ) -> None:
        if fields is None:
            return
        names = [name.strip() for name in fields.split(",")]
        # Judged as JSON Schema validators judge `pattern` (a search), so the server accepts
        # exactly what the contract admits.
        if not re.search(pattern, fields):
            bad = next((name for name in names if name not in allowed), "")
            raise FieldValidationError(
                [("fields", "unknown_field")],
                location="query",
                name=bad,
                allowed=", ".join(allowed),
            )
        request.scope[SCOPE_KEY] = (mode, list(dict.fromkeys(names)))

    SELECTORS[select] = mode
    return Depends(select)


def select_fields(body: bytes, selection: Selection) -> bytes:
    """The JSON body with only the selected fields (of each item, for a list)."""
    mode, names = selection
    data = orjson.loads(body)

    def pick(value: dict[str, Any]) -> dict[str, Any]:
        return {name: value[name] for name in names if name in value}

    if mode == "items":
        data["items"] = [pick(item) for item in data["items"]]
    elif mode == "each":
        data = [pick(item) for item in data]
    else:
        data = pick(data)
    return orjson.dumps(data)


def _partial(components: dict[str, Any], ref: str) -> dict[str, str]:
    """A $ref to the component `ref` names without `required` (made once)."""
    name = ref.rsplit("/", 1)[-1]
    partial = name + PARTIAL_SUFFIX
    if partial not in components:
        schema = copy.deepcopy(components[name])
        schema.pop("required", None)
        schema["title"] = f"{schema.get('title', name)} ({PARTIAL_SUFFIX.lower()})"
        schema["description"] = f"`{name}` with only the fields named in `fields`."
        components[partial] = schema
    return {"$ref": f"#/components/schemas/{partial}"}


def document(components: dict[str, Any], response: dict[str, Any], mode: Mode) -> None:
    """Make a 200 answer's JSON schema `anyOf` the full and the partial representation."""
    media = response.get("content", {}).get("application/json")
    if media is None or "anyOf" in media.get("schema", {}):
        return
    full = media["schema"]
    if mode == "each":
        partial: dict[str, Any] = {
            "type": "array",
            "items": _partial(components, full["items"]["$ref"]),
        }
    elif mode == "items":
        page = full["$ref"].rsplit("/", 1)[-1]
        partial_page = page + PARTIAL_SUFFIX
        if partial_page not in components:
            schema = copy.deepcopy(components[page])
            items = schema["properties"]["items"]
            items["items"] = _partial(components, items["items"]["$ref"])
            schema["title"] = f"{schema.get('title', page)} ({PARTIAL_SUFFIX.lower()})"
            schema["description"] = f"`{page}` whose items have only the fields named in `fields`."
            components[partial_page] = schema
        partial = {"$ref": f"#/components/schemas/{partial_page}"}
    else:
        partial = _partial(components, full["$ref"])
    media["schema"] = {"anyOf": [full, partial]}
