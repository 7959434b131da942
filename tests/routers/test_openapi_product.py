"""The OpenAPI document as a product: every operation has a stable id, one declared tag, a
summary and a description, explicit security, problem-details errors with examples, and an
example for every JSON body, each of which validates against its schema."""

import copy
import re
from collections.abc import Iterator
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from app.core.errors import AppError

PROBLEM = "application/problem+json"
JSON_BODIES = ("application/json", "application/x-www-form-urlencoded")
BEARER = {"OAuth2PasswordBearer": []}

# Public: no token needed, and one sent is ignored.
PUBLIC = {
    "plan-get",
    "sections-list",
    "sections-get",
    "tasks-list",
    "tasks-get",
    "tasks-progress",
    "indicators-list",
    "indicators-get",
    "indicators-values",
    "documents-list",
    "documents-get",
    "agencies-list",
    "agencies-get",
    "agencies-scorecard",
    "reorganisations-list",
    "reorganisations-get",
    "dashboard-get",
    "meta-enums",
    "search",
    "open-data-get",
    "auth-token",
    "auth-refresh",
    "auth-revoke",
    "health-live",
    "health-ready",
}
# Public, with more for the signed-in: the token is optional.
OPTIONAL_TOKEN = {"periods-list", "periods-get", "periods-compliance", "sync", "auth-logout"}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


async def _spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _codes_by_status() -> dict[int, set[str]]:
    """The `code` each status really carries: the AppError classes, and the codes the
    framework-error handlers in app.core.errors give."""
    codes: dict[int, set[str]] = {
        400: {"malformed_request"},
        404: {"not_found"},
        405: {"method_not_allowed"},
        422: {"validation_error"},
        500: {"internal_error"},
    }
    pending = list(AppError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        codes.setdefault(cls.status, set()).add(cls.code)
    return codes


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _example_failures(spec: dict[str, Any]) -> list[str]:
    """Every example of the document that does not validate against its schema: media-type
    examples (request and response bodies) and schema-level `examples` anywhere. Schemas are
    addressed by JSON pointer into the document, so `#/components/...` references resolve."""
    base = "urn:dxplan:openapi"
    registry: Registry[Any] = Registry().with_resource(base, DRAFT202012.create_resource(spec))
    failures: list[str] = []

    def check(instance: Any, pointer: str, label: str) -> None:
        validator = Draft202012Validator(
            {"$ref": f"{base}#{pointer}"},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for error in validator.iter_errors(instance):
            # Under anyOf (a `fields=` answer: the full or the partial schema), each branch's
            # own reasons.
            for reason in error.context or [error]:
                where = "/".join(str(p) for p in reason.absolute_path)
                failures.append(f"{label} at /{where}: {reason.message[:200]}")

    for path, method, operation in _operations(spec):
        op_pointer = _pointer("paths", path, method)
        bodies: list[tuple[str, dict[str, Any]]] = []
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            bodies.append((_pointer("requestBody", "content", media), content))
        for status, response in operation.get("responses", {}).items():
            for media, content in response.get("content", {}).items():
                bodies.append((_pointer("responses", status, "content", media), content))
        for sub, content in bodies:
            if "example" in content and "schema" in content:
                label = f"{operation['operationId']} {sub}"
                check(content["example"], f"{op_pointer}{sub}/schema", label)
            for name, named in content.get("examples", {}).items():
                if "schema" in content:
                    label = f"{operation['operationId']} {sub} examples/{name}"
                    check(named["value"], f"{op_pointer}{sub}/schema", label)

    def walk(node: Any, pointer: str) -> None:
        if isinstance(node, dict):
            examples = node.get("examples")
            if isinstance(examples, list):  # a schema's; OpenAPI's own `examples` are maps
                for i, example in enumerate(examples):
                    check(example, pointer, f"schema {pointer} examples[{i}]")
            for key, value in node.items():
                walk(value, pointer + _pointer(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(spec["paths"], "/paths")
    walk(spec["components"]["schemas"], "/components/schemas")
    return failures


async def test_operation_ids_are_unique_and_kebab_case(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    ids = [operation.get("operationId", "") for _, _, operation in _operations(spec)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", operation_id), operation_id


async def test_every_operation_has_exactly_one_declared_tag(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    declared = {tag["name"]: tag.get("description", "") for tag in spec.get("tags", [])}
    assert all(description.strip() for description in declared.values()), declared
    used = set()
    for path, method, operation in _operations(spec):
        tags = operation.get("tags", [])
        assert len(tags) == 1, (method, path, tags)
        assert tags[0] in declared, (method, path, tags)
        used.add(tags[0])
    assert used == set(declared), set(declared) - used


async def test_every_operation_has_summary_and_description(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    for path, method, operation in _operations(spec):
        summary = operation.get("summary", "").strip()
        description = operation.get("description", "").strip()
        assert summary, (method, path)
        assert description and description != summary, (method, path)


async def test_every_operation_states_its_security(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    assert set(spec["components"]["securitySchemes"]) == set(BEARER)
    public, optional, required = set(), set(), set()
    for path, method, operation in _operations(spec):
        assert "security" in operation, (method, path)
        security = operation["security"]
        if security == []:
            public.add(operation["operationId"])
        elif security == [{}, BEARER]:
            optional.add(operation["operationId"])
        else:
            assert security == [BEARER], (method, path, security)
            required.add(operation["operationId"])
    assert public == PUBLIC
    assert optional == OPTIONAL_TOKEN
    assert required and not required & (PUBLIC | OPTIONAL_TOKEN)
    # Operations that may be called with a token say how a token bears on them.
    for _, _, operation in _operations(spec):
        if operation["operationId"] in OPTIONAL_TOKEN:
            assert "token is optional" in operation["description"], operation["operationId"]
    assert "makes the token optional" in spec["info"]["description"]


async def test_errors_are_problem_details_with_real_examples(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    codes = _codes_by_status()
    for path, _, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            where = (operation["operationId"], status)
            assert list(response["content"]) == [PROBLEM], where
            content = response["content"][PROBLEM]
            assert content["schema"] == {"$ref": "#/components/schemas/Problem"}, where
            example = content["example"]
            assert example["status"] == int(status), where
            assert example["code"] in codes[int(status)], (where, example["code"])
            assert example["type"] == f"urn:dxplan:problem:{example['code']}", where
            assert example["title"] and example["detail"], where
            assert example["instance"].startswith(path.split("{")[0]), where
            if example["code"] == "validation_error":
                assert len(example["errors"]) == 1, where
            else:
                assert "errors" not in example, where


async def test_every_json_body_has_an_example(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    bodies = 0
    for path, method, operation in _operations(spec):
        request = operation.get("requestBody", {}).get("content", {})
        for media in JSON_BODIES:
            if media in request:
                bodies += 1
                # One example, or a named set of them (the token endpoint's two grants).
                assert "example" in request[media] or request[media].get("examples"), (
                    method,
                    path,
                    media,
                )
        for status, response in operation["responses"].items():
            if status.startswith("2") and "application/json" in response.get("content", {}):
                bodies += 1
                assert "example" in response["content"]["application/json"], (method, path)
    assert bodies > 100


async def test_every_example_validates_against_its_schema(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    assert _example_failures(spec) == []


async def test_the_example_check_catches_a_bad_example(client: httpx.AsyncClient) -> None:
    """The check above can fail: a wrong type, a missing required field, a bad format and a
    bad schema-level example are all reported."""
    spec = copy.deepcopy(await _spec(client))
    tasks_get = spec["paths"]["/api/v1/tasks/{code}"]["get"]
    tasks_get["responses"]["200"]["content"]["application/json"]["example"] = {"code": 1}
    refresh = spec["paths"]["/api/v1/auth/refresh"]["post"]
    refresh["requestBody"]["content"]["application/json"]["example"] = {}
    problem = tasks_get["responses"]["404"]["content"][PROBLEM]["example"]
    problem["status"] = "404"
    spec["components"]["schemas"]["ReportRead"]["properties"]["created_at"]["examples"] = [
        "yesterday"
    ]
    failures = _example_failures(spec)
    assert any("tasks-get /responses/200" in f and "is not of type 'string'" in f for f in failures)
    assert any(
        "tasks-get /responses/200" in f and "'full_text' is a required" in f for f in failures
    )
    assert any("auth-refresh /requestBody" in f and "'refresh_token'" in f for f in failures)
    assert any("tasks-get /responses/404" in f for f in failures)
    assert any("ReportRead/properties/created_at" in f for f in failures)


async def test_every_json_write_documents_its_400_for_an_unreadable_body(
    client: httpx.AsyncClient,
) -> None:
    """A JSON body that cannot be decoded (a byte that is not UTF-8 after a UTF-8 start; a
    body in another encoding altogether is 415) is refused by the framework before any check
    of the caller or the parameters: 400 `malformed_request`, which every operation
    taking JSON must therefore document."""
    spec = await _spec(client)
    tried = []
    for path, method, operation in _operations(spec):
        if "application/json" not in operation.get("requestBody", {}).get("content", {}):
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = await client.request(
            method, url, content=b'{"a": "\xff"}', headers={"Content-Type": "application/json"}
        )
        where = (operation["operationId"], response.text[:200])
        assert response.status_code == 400, where
        assert response.json()["code"] == "malformed_request", where
        assert "400" in operation["responses"], where
        tried.append(operation["operationId"])
    assert {"reorganisations-create", "reorganisations-update", "periods-create"} <= set(tried)
