"""What the app refuses for its form, the contract refuses too (issue 12: schemathesis'
positive-data check on every operation). Each case is a request the app answers with 422
(or 428) although the contract used to admit it; the test sends it and validates the same
value against the schema the served contract gives for it."""

from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.factories import Account

API = "/api/v1"
EVENT = "HP-2025-07-CITY"


@pytest.fixture(scope="module")
async def contract(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def admits(contract: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` is valid against ``schema`` (its $refs resolved in the contract)."""
    rooted = {**schema, "components": contract["components"]}
    validator = Draft202012Validator(rooted, format_checker=FormatChecker())
    return validator.is_valid(value)


def parameter(contract: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    operation = contract["paths"][API + path][method]
    found = [p for p in operation["parameters"] if p["name"].lower() == name.lower()]
    assert len(found) == 1, (method, path, name)
    return found[0]


def body_schema(contract: dict[str, Any], method: str, path: str, media: str) -> dict[str, Any]:
    schema: dict[str, Any] = contract["paths"][API + path][method]["requestBody"]["content"][media][
        "schema"
    ]
    return schema


def rules(response: httpx.Response) -> set[str]:
    return {error["type"] for error in response.json().get("errors", [])}


@pytest.mark.parametrize(
    ("path", "name", "value", "rule"),
    [
        # as_of: a full-date of a year from 1900 to 2100 (its description said so, its
        # schema only `format: date`).
        ("/tasks", "as_of", "0397-05-27", "greater_than_equal"),
        ("/sections", "as_of", "4822-01-09", "less_than_equal"),
        # PostgreSQL text holds no NUL: refused in every string the app reads.
        ("/tasks", "q", "y\x00te", "nul_character"),
        ("/audit", "entity_id", "P\x00", "nul_character"),
    ],
)
async def test_query_values_the_app_refuses_are_outside_the_contract(
    client: httpx.AsyncClient,
    contract: dict[str, Any],
    accounts: dict[str, Account],
    path: str,
    name: str,
    value: str,
    rule: str,
) -> None:
    answer = await client.get(
        API + path, params={name: value}, headers=accounts["reviewer"].headers
    )
    assert answer.status_code == 422
    assert rules(answer) == {rule}
    assert not admits(contract, parameter(contract, "get", path, name)["schema"], value)


async def test_a_path_with_nul_is_outside_the_contract(
    client: httpx.AsyncClient, contract: dict[str, Any]
) -> None:
    answer = await client.get(f"{API}/tasks/A%00")
    assert (answer.status_code, rules(answer)) == (422, {"nul_character"})
    assert not admits(
        contract, parameter(contract, "get", "/tasks/{code}", "code")["schema"], "A\0"
    )


async def test_form_fields_the_operation_ignores_are_nul_free_in_the_contract(
    client: httpx.AsyncClient, contract: dict[str, Any]
) -> None:
    form = {"token": "not-a-token", "extra\x00": "y"}
    answer = await client.post(f"{API}/auth/revoke", data=form)
    assert (answer.status_code, rules(answer)) == (422, {"nul_character"})
    schema = body_schema(contract, "post", "/auth/revoke", "application/x-www-form-urlencoded")
    assert not admits(contract, schema, form)
    assert not admits(contract, schema, {"token": "x", "extra": "y\x00"})
    assert admits(contract, schema, {"token": "x", "extra": "y"})


async def test_if_match_is_required_where_the_app_answers_428(
    client: httpx.AsyncClient, contract: dict[str, Any], accounts: dict[str, Account]
) -> None:
    answer = await client.patch(
        f"{API}/reorganisations/{EVENT}", json={"verified": True}, headers=accounts["admin"].headers
    )
    assert answer.status_code == 428
    for path_item in contract["paths"].values():
        for operation in path_item.values():
            for found in operation.get("parameters", []):
                if found["name"].lower() == "if-match":
                    assert found["required"] is ("428" in operation["responses"])
                    assert "anyOf" not in found["schema"]  # no null alternative


async def test_event_corrections_admit_no_null_for_what_every_event_has(
    client: httpx.AsyncClient, contract: dict[str, Any], accounts: dict[str, Account]
) -> None:
    admin = accounts["admin"].headers
    etag = (await client.get(f"{API}/reorganisations/{EVENT}")).headers["etag"]
    schema = body_schema(contract, "patch", "/reorganisations/{code}", "application/json")
    for name in ("date", "kind", "predecessors", "verified"):
        answer = await client.patch(
            f"{API}/reorganisations/{EVENT}",
            json={name: None},
            headers={**admin, "If-Match": etag},
        )
        assert (answer.status_code, rules(answer)) == (422, {"missing"}), name
        assert not admits(contract, schema, {name: None}), name
    # Texts that may be empty still take null.
    assert admits(contract, schema, {"notes": None, "date_note": None})


async def test_agency_codes_in_an_event_have_their_pattern_in_the_contract(
    client: httpx.AsyncClient, contract: dict[str, Any], accounts: dict[str, Account]
) -> None:
    event = {"code": "T-2090-CODES", "date": "2090-01-01", "kind": "merge", "verified": False}
    for codes in ([""], ["syt"], ["A" * 33]):
        body = {**event, "predecessors": codes}
        answer = await client.post(
            f"{API}/reorganisations", json=body, headers=accounts["admin"].headers
        )
        assert answer.status_code == 422, codes
        assert [e["field"] for e in answer.json()["errors"]] == ["predecessors"], codes
        schema = body_schema(contract, "post", "/reorganisations", "application/json")
        assert not admits(contract, schema, body), codes


async def test_special_use_mail_domains_are_outside_the_contract(
    client: httpx.AsyncClient, contract: dict[str, Any], accounts: dict[str, Account]
) -> None:
    schema = body_schema(contract, "post", "/users", "application/json")
    user = {
        "username": "mail.test.user",
        "full_name": "Người thử thư",
        "password": "Mot-mat-khau-du-dai-2026",
        "agency": "SYT",
        "role": "officer",
    }
    for email in ("a@j5.test", "b@host.LOCAL", "c@localhost", "d@x.invalid"):
        answer = await client.post(
            f"{API}/users", json={**user, "email": email}, headers=accounts["admin"].headers
        )
        assert answer.status_code == 422, email
        assert [e["field"] for e in answer.json()["errors"]] == ["email"], email
        assert not admits(contract, schema, {**user, "email": email}), email
    assert admits(contract, schema, {**user, "email": "a@haiduong.gov.vn"})


async def test_blank_required_texts_of_users_are_outside_the_contract(
    client: httpx.AsyncClient, contract: dict[str, Any], accounts: dict[str, Account]
) -> None:
    """User bodies are stripped before their length is checked: whitespace alone is empty."""
    schema = body_schema(contract, "post", "/users", "application/json")
    user = {
        "username": "blank.name.user",
        "full_name": " \t ",
        "password": "Mot-mat-khau-du-dai-2026",
        "agency": "SYT",
        "role": "officer",
    }
    answer = await client.post(f"{API}/users", json=user, headers=accounts["admin"].headers)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["full_name"]
    assert not admits(contract, schema, user)
    assert not admits(contract, schema, {**user, "full_name": "A", "password": "  "})
    assert admits(contract, schema, {**user, "full_name": " Trần Thị B "})
