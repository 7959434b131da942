"""Property-based run of every operation against the served contract, in-process.

Schemathesis drives the ASGI app itself (its own event loop and lifespan), generating valid
and invalid inputs from the schema; every response must conform to the schema (status,
content type, body) and no input may yield a server error. It runs twice, as the public and
as each staff role, on a database of its own (its writes must not disturb other tests).
The operations are driven with Hypothesis directly rather than through schemathesis' pytest
plugin, which does not support the pytest version we use.
"""

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

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


@pytest.fixture(scope="module")
def api_schema(fuzz_database: str) -> Any:
    application = create_app(db.settings_for(fuzz_database))
    return schemathesis.openapi.from_asgi("/openapi.json", application)


# Valid inputs as every caller (each reaches other code); invalid ones as the public and
# the two ends of the staff roles: validation does not depend on the role, and generating
# invalid inputs is the slow part (about a minute per caller).
CASES = [(GenerationMode.POSITIVE, caller) for caller in ("public", *ROLES)] + [
    (GenerationMode.NEGATIVE, caller) for caller in ("public", "admin", "officer")
]


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
            max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: Any) -> None:
            # Still refused with a documented 422 although schema-valid: filter values that
            # name no data (an unknown agency), a reused Idempotency-Key, a stale or missing
            # If-Match (412/428), domain rules (a wrong current password, a body with NUL).
            # Cursors and `fields=` no longer are: every value their patterns admit is
            # served, and a `fields=` answer validates against its documented schema.
            excluded = [positive_data_acceptance]
            # A bodiless sign-out ends the caller's own sign-in: with the caller's token,
            # every later operation would run as a revoked caller (401); it goes without.
            sends = {} if case.operation.label == "POST /api/v1/auth/logout" else headers
            case.call_and_validate(headers=sends, excluded_checks=excluded)

        check()
