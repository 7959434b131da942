"""`fields=`: a partial answer with only the named fields, for phones on poor networks.

A route opts in with `dependencies=[fields_of(XPage)]` (the fields of each item of a list)
or `fields_of(XRead)` (of one object). The dependency checks the names against the model
(422 naming the allowed ones) and marks the request; ConditionalGetMiddleware drops the
other fields before it computes the ETag, so each selection is its own representation.
"""

from typing import Annotated, Any, get_args

import orjson
from fastapi import Depends, Query, Request
from pydantic import BaseModel

from app.core.errors import FieldValidationError
from app.schemas.common import Page

SCOPE_KEY = "dxplan.fields"


def fields_of(model: type[BaseModel]) -> Any:
    page = issubclass(model, Page)
    target = get_args(model.model_fields["items"].annotation)[0] if page else model
    allowed = list(target.model_fields)
    description = (
        "Comma-separated names of the fields to return"
        + (" for each item" if page else "")
        + "; the others are left out, required ones included, so the answer is a partial"
        " representation of the schema below. Any of: "
        + ", ".join(f"`{name}`" for name in allowed)
        + "."
    )

    async def select(
        request: Request,
        fields: Annotated[
            str | None,
            Query(max_length=1000, description=description, examples=[",".join(allowed[:2])]),
        ] = None,
    ) -> None:
        if fields is None:
            return
        names = list(dict.fromkeys(name.strip() for name in fields.split(",") if name.strip()))
        for name in names or [""]:
            if name not in allowed:
                raise FieldValidationError(
                    [("fields", "unknown_field")],
                    location="query",
                    name=name,
                    allowed=", ".join(allowed),
                )
        request.scope[SCOPE_KEY] = (page, names)

    return Depends(select)


def select_fields(body: bytes, selection: tuple[bool, list[str]]) -> bytes:
    """The JSON body with only the selected fields (of each item, for a list)."""
    page, names = selection
    data = orjson.loads(body)

    def pick(value: dict[str, Any]) -> dict[str, Any]:
        return {name: value[name] for name in names if name in value}

    if page:
        data["items"] = [pick(item) for item in data["items"]]
    else:
        data = pick(data)
    return orjson.dumps(data)
