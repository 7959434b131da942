"""`Location` on every 201 (issue 12): the walk takes every operation of the contract that
answers 201, performs it as a caller allowed to (the drivers of tests/core/test_idempotency.py),
and reads the `Location` it answered as that caller: its own GET answers the created object
(the same `id`, or the same `code` for an object known by code; an evidence file's download
answers the file's bytes)."""

import secrets
from typing import Any

import httpx

from tests.core.test_idempotency import DRIVERS, World
from tests.core.test_idempotency import world as world  # the fixture


def created_operations(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        operation["operationId"]: (method, path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "201" in operation["responses"]
    }


async def test_every_201_documents_and_sends_a_location_its_get_answers(
    app: Any, client: httpx.AsyncClient, world: World
) -> None:
    spec = app.openapi()
    operations = created_operations(spec)
    assert len(operations) >= 11
    gets = [p for p, item in spec["paths"].items() if "get" in item]
    failures = []
    for operation_id, (method, _) in sorted(operations.items()):
        assert method == "post", operation_id
        header = spec["paths"][operations[operation_id][1]][method]["responses"]["201"]
        if not header.get("headers", {}).get("Location", {}).get("required"):
            failures.append(f"{operation_id}: the contract does not promise Location")
        if operation_id not in DRIVERS:
            failures.append(f"{operation_id}: no driver in tests/core/test_idempotency.py")
            continue
        call, _ = await DRIVERS[operation_id](world)
        made = await call.send(client, secrets.token_hex(12))
        if made.status_code != 201:
            failures.append(f"{operation_id}: {made.status_code} {made.text[:200]}")
            continue
        location = made.headers.get("location")
        if location is None:
            failures.append(f"{operation_id}: no Location")
            continue
        if not any(_matches(template, location) for template in gets):
            failures.append(f"{operation_id}: {location} is no GET of the contract")
            continue
        read = await client.get(location, headers=call.who.headers if call.who else {})
        if read.status_code != 200:
            failures.append(f"{operation_id}: GET {location} is {read.status_code}")
        elif read.headers["content-type"].startswith("application/json"):
            key = _identity(made.json())
            if read.json().get(key) != made.json()[key]:
                failures.append(f"{operation_id}: GET {location} answers another object")
        elif call.files is None or read.content != call.files["file"][1]:
            failures.append(f"{operation_id}: GET {location} is not the file sent")
    assert not failures, "\n".join(failures)


def _identity(created: dict[str, Any]) -> str:
    """The field naming a created object: its `id`, or its `code` for objects known by code
    only (a reorganisation event, addressed as /reorganisations/{code})."""
    return "id" if "id" in created else "code"


def _matches(template: str, path: str) -> bool:
    parts, actual = template.split("/"), path.split("?")[0].split("/")
    return len(parts) == len(actual) and all(
        p == a or (p.startswith("{") and a != "") for p, a in zip(parts, actual, strict=True)
    )
