"""A correction of the event that ended the district level reaches a phone that synced before
it: the indicators whose district-level targets answer differently today (their
`level_succession`, hence their attainment) are logged, although no agency they name
resolves differently. Runs on a database of its own (the event is corrected here)."""

from datetime import date
from typing import Any

import httpx

from app.deps import get_today
from tests.factories import create_user, sign_in
from tests.services.test_reorganisation_walk import (  # noqa: F401 (fixtures)
    deployed,
    deployed_app,
    walk_database,
)
from tests.services.test_sync_bodies import Phone, full_read

API = "/api/v1"
TODAY = date(2026, 11, 30)
EVENT = f"{API}/reorganisations/VN-2025-07-HUYEN"


async def test_a_corrected_level_end_reaches_the_phones(
    deployed_app: Any,  # noqa: F811 (the imported fixture)
    deployed: tuple[httpx.AsyncClient, Any],  # noqa: F811
) -> None:
    client, sessionmaker = deployed
    deployed_app.dependency_overrides[get_today] = lambda: TODAY
    phone: Phone | None = None
    try:
        admin = await create_user(sessionmaker, role="admin", agency="HP_SKHCN")
        await sign_in(client, admin)
        start = (await client.get(f"{API}/sync")).json()["next_cursor"]
        phone = Phone(deployed_app, sessionmaker, None, start)

        etag = (await client.get(EVENT)).headers["etag"]
        corrected = await client.patch(
            EVENT, json={"date": "2025-07-02"}, headers={**admin.headers, "If-Match": etag}
        )
        assert corrected.status_code == 200, corrected.text

        await phone.catch_up(limit=50)
        indicators = {key for kind, key in phone.received if kind == "indicator"}
        # VP UBND tỉnh leads CT-2025-01 and CT-2030-02: no district among their agencies,
        # but each has a district-level target whose level_succession moved a day.
        assert {"CT-2025-01", "CT-2030-02", "CT-2030-12"} <= indicators
        assert "CT-2025-06" not in indicators  # Sở Y tế's, no district target
        target = next(
            t
            for t in phone.store[("indicator", "CT-2025-01")]["targets"]
            if t["level"] == "district"
        )
        assert target["level_succession"]["ended_on"] == "2025-07-02"
        assert target["attainment"] == "not_applicable"
        assert phone.store == await full_read(client, set(phone.received), None)
    finally:
        deployed_app.dependency_overrides.pop(get_today, None)
        if phone is not None:
            await phone.client.aclose()
