"""Property-based run of every operation against the served contract, in-process.

Schemathesis drives the ASGI app itself (its own event loop and lifespan), generating valid
and invalid inputs from the schema; every response must conform to the schema (status,
content type, body) and no input may yield a server error. The operations are driven with
Hypothesis directly rather than through schemathesis' pytest plugin, which does not support
the pytest version we use.
"""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.main import create_app
from tests import db


@pytest.fixture(scope="session")
def api_schema(database_url: str) -> Any:
    application = create_app(db.settings_for(database_url))
    return schemathesis.openapi.from_asgi("/openapi.json", application)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms(api_schema: Any, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 13
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to make invalid

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case: Any) -> None:
            # Schema-valid strings that name nothing (an unknown group, a cursor this server
            # did not issue) are refused with the documented 422, by design of the contract.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
