"""Property-based run of every operation against the served contract, in-process.

Schemathesis drives the ASGI app itself (its own event loop and lifespan), generating valid
and invalid inputs from the schema, with every one of its checks: every response conforms
to the contract (status, content type, headers, body), no input yields a server error,
invalid input is refused and valid input accepted (positive_data_acceptance). It runs
twice, as the public and as each staff role, on a database of its own (its writes must not
disturb other tests). The operations are driven with Hypothesis directly rather than
through schemathesis' pytest plugin, which does not support the pytest version we use.
"""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import _grants_credentials

from app.cli import run_seed
from app.core.db import make_engine, make_sessionmaker
from app.core.migrate import upgrade
from app.core.security import issue_access_token
from app.main import create_app
from tests import db
from tests.factories import create_session, create_user


@pytest.fixture(scope="module")
def fuzz_database(server_url: str) -> Iterator[str]:
    url = db.create_database(server_url, prefix="dxplan_fuzz")
    config = db.settings_for(url)
    upgrade(config)
    asyncio.run(run_seed(config, None))
    yield url
    db.drop_database(server_url, url)


ROLES = {"admin": "STTTT", "reviewer": "STTTT", "agency_lead": "SYT", "officer": "SYT"}


@pytest.fixture(scope="module")
def tokens(fuzz_database: str) -> dict[str, str]:
    """A token per role (staff of Sở Y tế for the agency roles), minted directly."""
    config = db.settings_for(fuzz_database)

    async def make() -> dict[str, tuple[int, UUID]]:
        engine = make_engine(config, null_pool=True)
        try:
            factory = make_sessionmaker(engine)
            return {
                role: await create_session(
                    factory, (await create_user(factory, role=role, agency=agency)).id
                )
                for role, agency in ROLES.items()
            }
        finally:
            await engine.dispose()

    ids = asyncio.run(make())
    return {
        role: issue_access_token(
            user_id=ids[role][0],
            session_id=ids[role][1],
            role=role,
            agency=ROLES[role],
            key=db.TEST_JWT_SECRET,
            settings=config,
            now=datetime.now(UTC),
        )[0]
        for role in ROLES
    }


# 422s that no schema can foresee: the request is well formed, but only the data decides
# (a filter or a body naming an agency, a user or a code that does not exist, a date after
# another, a password that contains the user's name, a credential that is wrong). Each is
# documented for its operation (a 422 response with its problem code or field rule), and
# positive data may meet only these: `documented_refusals_only` fails on any other 422.
UNKNOWN_FILTER = {"unknown_filter_value"}
PASSWORD_RULES = {"password_too_short", "password_contains_name", "password_too_simple"}
PLACEMENT_RULES = {
    "unknown_agency",
    "group_agency",
    "reviewer_agency",
    "agency_ended",
    "agency_ended_no_successor",
}
# Who the event names must exist (or not yet), at that date, in the shape its kind has.
REORGANISATION_RULES = {
    "unknown_agencies",
    "agency_exists",
    "agency_not_yet",
    "duplicate_agency",
    "not_district",
    "unknown_item",
    "succession_cycle",
    "successors_required",
    "rename_one_to_one",
    "transfers_required",
    "transfer_empty",
    "basis_number_required",
    "notes_required",
}
# An item names a plan object its report's agency is asked about, with what its kind needs.
ITEM_RULES = {
    "unknown_task",
    "unknown_indicator",
    "unknown_document",
    "not_assigned",
    "unknown_target",
    "unknown_district",
    "value_required",
    "achieved_required",
    "issued_fields_required",
}
ITEMS = "/api/v1/reports/{{report_id}}/{}"
KINDS = ("task-updates", "indicator-values", "document-updates")
DOMAIN_REFUSALS: dict[str, set[str]] = {
    "GET /api/v1/audit": UNKNOWN_FILTER,
    "GET /api/v1/documents": UNKNOWN_FILTER,
    "GET /api/v1/indicators": UNKNOWN_FILTER,
    "GET /api/v1/indicators/{code}/values": UNKNOWN_FILTER,
    "GET /api/v1/reorganisations": UNKNOWN_FILTER,
    "GET /api/v1/sections": UNKNOWN_FILTER,
    "GET /api/v1/tasks": UNKNOWN_FILTER,
    # `state` and its deprecated name `status` naming different states.
    "GET /api/v1/periods": {"state_status_mismatch"},
    "POST /api/v1/periods": {"cutoff_after_due", "unknown_agency"},
    # A wrong current password is a rejected credential, like a failed sign-in.
    "POST /api/v1/me/password": {"wrong_password", *PASSWORD_RULES},
    "POST /api/v1/users": PLACEMENT_RULES | PASSWORD_RULES,
    "PATCH /api/v1/users/{user_id}": PLACEMENT_RULES,
    "POST /api/v1/users/{user_id}/password-reset": PASSWORD_RULES,
    "POST /api/v1/reorganisations": REORGANISATION_RULES,
    "PATCH /api/v1/reorganisations/{code}": REORGANISATION_RULES,
    # A report for a period that does not ask the caller's agency.
    "POST /api/v1/reports": {"agency_not_asked"},
    # Sending back needs a reason.
    "POST /api/v1/reports/{report_id}/return": {"comment_required"},
    **{f"POST {ITEMS.format(kind)}": ITEM_RULES for kind in KINDS},
    **{f"PATCH {ITEMS.format(kind)}/{{item_id}}": ITEM_RULES for kind in KINDS},
    **{f"POST {ITEMS.format(kind)}/{{item_id}}/return": {"comment_required"} for kind in KINDS},
}


def _problem(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def refusal_rules(response: Any) -> set[str]:
    """What a 422 refuses: its field rules for a validation error, else its problem code."""
    body = _problem(response)
    if body.get("code") == "validation_error":
        return {str(error.get("type")) for error in body.get("errors", [])}
    return {str(body.get("code"))}


@schemathesis.check
def documented_refusals_only(ctx: Any, response: Any, case: Any) -> bool | None:
    """Positive data refused with 422 only for a documented rule of data (DOMAIN_REFUSALS);
    positive_data_acceptance lets 422 through on those operations alone."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code != 422 or _grants_credentials(case.operation):
        return None  # the sign-in form: a credential, as positive_data_acceptance judges it
    allowed = DOMAIN_REFUSALS.get(case.operation.label, set())
    unexpected = refusal_rules(response) - allowed
    assert not unexpected, f"Schema-valid input refused for {sorted(unexpected)}: {response.text}"
    return None


ACCEPTED = [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"]


def fuzz_config() -> SchemathesisConfig:
    """Every check on every operation; 422 accepted for positive data only where
    DOMAIN_REFUSALS documents why (and documented_refusals_only checks what it says)."""
    return SchemathesisConfig.from_dict(
        {
            "operations": [
                {
                    "include-name": label,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
                }
                for label in DOMAIN_REFUSALS
            ]
        }
    )


@pytest.fixture(scope="module")
def api_schema(fuzz_database: str) -> Any:
    application = create_app(db.settings_for(fuzz_database))
    return schemathesis.openapi.from_asgi("/openapi.json", application, config=fuzz_config())


def _header(headers: Any, name: str) -> str | None:
    for key in list(headers or {}):
        if key.lower() == name:
            return str(key)
    return None


def _etag_source(schema: Any, path: str) -> Any:
    """The GET that answers the ETag an If-Match on ``path`` needs: the object's own route,
    its file's download, or (for a command on it, e.g. /submit) its parent's."""
    for candidate in (path, f"{path}/download", path.rsplit("/", 1)[0]):
        try:
            return schema[candidate]["GET"]
        except (KeyError, LookupError):
            continue
    return None


def prepare(case: Any, headers: dict[str, str]) -> None:
    """What a client does for a valid request that the schema alone cannot give: a fresh
    Idempotency-Key per request (one reused with another body is 422 by design), and the
    object's current ETag in If-Match (read as the same caller; left as drawn when the
    object cannot be read, which then answers 404)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if (key := _header(case.headers, "idempotency-key")) is not None:
        case.headers[key] = uuid4().hex
    if (key := _header(case.headers, "if-match")) is not None:
        source = _etag_source(case.operation.schema, case.operation.path)
        names = {p.name for p in source.iter_parameters() if p.location == "path"} if source else ()
        if source is not None:
            read = source.Case(
                path_parameters={k: v for k, v in case.path_parameters.items() if k in names},
                query={k: v for k, v in (case.query or {}).items() if k == "plan"},
            ).call(headers=headers)
            if read.status_code == 200 and read.headers.get("etag"):
                case.headers[key] = read.headers["etag"][0]


# Valid inputs as every caller (each reaches other code); invalid ones as the public and
# the two ends of the staff roles: validation does not depend on the role, and generating
# invalid inputs is the slow part (about a minute per caller).
CASES = [(GenerationMode.POSITIVE, caller) for caller in ("public", *ROLES)] + [
    (GenerationMode.NEGATIVE, caller) for caller in ("public", "admin", "officer")
]


# Examples per operation and caller. Each run draws new ones (no example database), so runs
# add up; the numbers keep the whole suite near five minutes on two cores (20 each took the
# fuzzing alone to 9 minutes of test time once If-Match reads and 90 operations came in).
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 8}


@pytest.mark.parametrize(("mode", "caller"), CASES)
def test_every_operation_conforms(
    api_schema: Any, tokens: dict[str, str], mode: GenerationMode, caller: str
) -> None:
    headers = {"Authorization": f"Bearer {tokens[caller]}"} if caller in tokens else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 23
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to make invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            # A bodiless sign-out ends the caller's own sign-in: with the caller's token,
            # every later operation would run as a revoked caller (401); it goes without.
            sends = {} if case.operation.label == "POST /api/v1/auth/logout" else headers
            prepare(case, sends)
            case.call_and_validate(headers=sends, additional_checks=[documented_refusals_only])

        check()


def test_domain_refusals_are_documented(api_schema: Any) -> None:
    """Positive data may meet 422 only where the contract documents it for the operation."""
    labels = {op.label: op for op in (r.ok() for r in api_schema.get_all_operations())}
    for label in DOMAIN_REFUSALS:
        assert "422" in labels[label].definition.raw["responses"], label
