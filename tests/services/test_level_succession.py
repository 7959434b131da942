"""District-level indicator targets after the district level ended (issue 11, item 3).

The plan sets three targets at district level (cấp huyện): CT-2025-01.2, CT-2030-02.2 and
CT-2030-12.2. The shipped event VN-2025-07-HUYEN ends the district level on 1 July 2025.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import httpx

from app.deps import get_today
from app.schemas.common import AgencyRef
from app.schemas.reorganisations import EventStep
from app.services import level_succession
from app.services.lineage import EventNode, Lineage
from tests.factories import Account, signed_in
from tests.services.test_reporting import etag_of, new_period

API = "/api/v1"

EVENT = {
    "code": "VN-2025-07-HUYEN",
    "date": "2025-07-01",
    "kind": "level_abolished",
    "legal_basis": ["203/2025/QH15", "72/2025/QH15", "1669/NQ-UBTVQH15"],
    "verified": True,
}
NOT_JUDGED = {
    "vi": "Không đánh giá mức đạt: cấp huyện kết thúc hoạt động từ ngày 01/07/2025 "
    "(203/2025/QH15, 72/2025/QH15, 1669/NQ-UBTVQH15), trước hạn của chỉ tiêu (năm 2025). "
    "Các giá trị đã được duyệt vẫn được giữ nguyên.",
    "en": "Attainment is not judged: the district level ended on 2025-07-01 (203/2025/QH15, "
    "72/2025/QH15, 1669/NQ-UBTVQH15), before the target's deadline (2025). The approved "
    "values are kept.",
}


@contextmanager
def clock(client: httpx.AsyncClient, today: date) -> Iterator[None]:
    app: Any = client._transport.app  # type: ignore[attr-defined]
    app.dependency_overrides[get_today] = lambda: today
    try:
        yield
    finally:
        app.dependency_overrides.pop(get_today, None)


def target_of(indicator: dict[str, Any], code: str) -> dict[str, Any]:
    return next(t for t in indicator["targets"] if t["code"] == code)


async def approve_work_record_values(
    client: httpx.AsyncClient, sessionmaker: Any, reviewer: Account
) -> None:
    """An officer of the city's office (successor of VP UBND tỉnh, the lead of CT-2025-01)
    reports the 2024 figures of CT-2025-01 at province and district level; approved."""
    officer = await signed_in(client, sessionmaker, role="officer", agency="HP_VPUBND")
    lead = await signed_in(client, sessionmaker, role="agency_lead", agency="HP_VPUBND")
    period = await new_period(client, reviewer, ["HP_VPUBND"])
    report = await client.post(
        f"{API}/reports", headers=officer.headers, json={"period_id": period["id"]}
    )
    assert report.status_code == 201, report.text
    url = f"{API}/reports/{report.json()['id']}"
    for target, value in (("CT-2025-01.1", 92), ("CT-2025-01.2", 72)):
        created = await client.post(
            f"{url}/indicator-values",
            headers=officer.headers,
            json={
                "target": target,
                "value": value,
                "as_of": "2024-12-31",
                "source": "Hệ thống quản lý văn bản và điều hành",
                "provenance": "measured",
            },
        )
        assert created.status_code == 201, created.text
    submitted = await client.post(
        f"{url}/submit", headers={**lead.headers, "If-Match": await etag_of(client, url, lead)}
    )
    assert submitted.status_code == 200, submitted.text
    approved = await client.post(
        f"{url}/approve",
        headers={**reviewer.headers, "If-Match": await etag_of(client, url, reviewer)},
    )
    assert approved.status_code == 200, approved.text


async def test_a_district_target_before_and_after_the_level_ended(
    client: httpx.AsyncClient, sessionmaker: Any, accounts: dict[str, Account]
) -> None:
    await approve_work_record_values(client, sessionmaker, accounts["reviewer"])

    # The day before: answered as before the reform, attainment judged on the 2024 value.
    before = await client.get(f"{API}/indicators/CT-2025-01", params={"as_of": "2025-06-30"})
    assert before.status_code == 200, before.text
    district = target_of(before.json(), "CT-2025-01.2")
    assert district["level"] == "district"
    assert (district["attainment"], district["progress_ratio"]) == ("not_met", 0.9)
    assert district["attainment_reason"] is None
    assert district["level_succession"] is None
    assert [p["value"] for p in district["series"]][-1] == 72.0

    # From the day the level ended: not judged, with the reason and the event.
    after = await client.get(f"{API}/indicators/CT-2025-01", params={"as_of": "2025-07-01"})
    district = target_of(after.json(), "CT-2025-01.2")
    assert (district["attainment"], district["progress_ratio"]) == ("not_applicable", None)
    assert district["attainment_reason"] == NOT_JUDGED
    succession = district["level_succession"]
    assert succession["level"] == "district"
    assert succession["ended_on"] == "2025-07-01"
    assert succession["event"] == EVENT
    assert (succession["outcome"], succession["carried_by"], succession["verified"]) == (
        "unknown",
        None,
        False,
    )
    assert succession["reason"] == {
        "vi": "Cấp huyện kết thúc hoạt động từ ngày 01/7/2025; chưa xác định được cấp nào "
        "(thành phố hay cấp xã) tiếp nhận chỉ tiêu về hồ sơ công việc tại cấp huyện.",
        "en": "The district level ended on 1 July 2025; which level (the city or the communes) "
        "now carries the district-level target on work records processed online is not known.",
    }
    assert succession["sources"] == []
    assert "CT-2025-01.1" in succession["note"] and "CT-2025-01.3" in succession["note"]
    # The history stays: the approved value is still in the series.
    assert [p["value"] for p in district["series"]][-1] == 72.0
    assert [p["as_of"] for p in district["series"]][-1] == "2024-12-31"
    # The province and commune targets of the same indicator are untouched.
    province = target_of(after.json(), "CT-2025-01.1")
    assert (province["attainment"], province["progress_ratio"]) == ("met", 1.0)
    assert province["level_succession"] is None and province["attainment_reason"] is None
    commune = target_of(after.json(), "CT-2025-01.3")
    assert commune["level_succession"] is None and commune["attainment"] != "not_applicable"

    # Without as_of the day is today, as for `responsible`.
    with clock(client, date(2025, 6, 30)):
        today = (await client.get(f"{API}/indicators/CT-2025-01")).json()
    assert target_of(today, "CT-2025-01.2")["attainment"] == "not_met"
    assert today["responsible"]["as_of"] == "2025-06-30"
    with clock(client, date(2026, 11, 30)):
        today = (await client.get(f"{API}/indicators/CT-2025-01")).json()
    assert target_of(today, "CT-2025-01.2")["attainment"] == "not_applicable"
    assert target_of(today, "CT-2025-01.2")["level_succession"]["event"] == EVENT

    # The list answers each target as the detail does, on the same day.
    for as_of in ("2025-06-30", "2025-07-01"):
        page = await client.get(
            f"{API}/indicators", params={"target_year": 2025, "limit": 100, "as_of": as_of}
        )
        listed = next(i for i in page.json()["items"] if i["code"] == "CT-2025-01")
        detail = (await client.get(f"{API}/indicators/CT-2025-01", params={"as_of": as_of})).json()
        assert listed["targets"] == detail["targets"], as_of


async def test_each_district_target_says_what_became_of_it(client: httpx.AsyncClient) -> None:
    page = await client.get(f"{API}/indicators", params={"limit": 100, "as_of": "2026-01-01"})
    assert page.status_code == 200, page.text
    targets = [t for i in page.json()["items"] for t in i["targets"]]
    ended = {
        t["code"]: (t["level_succession"]["outcome"], t["level_succession"]["verified"])
        for t in targets
        if t["level_succession"] is not None
    }
    assert ended == {
        "CT-2025-01.2": ("unknown", False),
        "CT-2030-02.2": ("unknown", False),
        "CT-2030-12.2": ("no_successor", True),
    }
    assert all(t["level"] == "district" for t in targets if t["code"] in ended)
    smart = next(t for t in targets if t["code"] == "CT-2030-12.2")
    assert smart["attainment"] == "not_applicable"
    assert smart["attainment_reason"]["en"].endswith(
        "before the target's deadline (2030). The approved values are kept."
    )
    assert smart["level_succession"]["carried_by"] is None
    assert smart["level_succession"]["sources"][0].startswith("https://news.laodong.vn/")
    assert smart["level_succession"]["reason"]["en"] == (
        "The target is counted per district (“each district has at least one smart urban "
        "area”); from 1 July 2025 there are no district-level units, so no level carries it."
    )
    # Targets of other levels never carry it, nor lose their attainment.
    others = [t for t in targets if t["code"] not in ended]
    assert others and all(t["level_succession"] is None for t in others)
    assert all(t["attainment"] in ("met", "not_met", "no_data") for t in others)

    earlier = await client.get(f"{API}/indicators", params={"limit": 100, "as_of": "2024-06-01"})
    targets = [t for i in earlier.json()["items"] for t in i["targets"]]
    assert all(t["level_succession"] is None for t in targets)
    assert all(t["attainment"] != "not_applicable" for t in targets)


async def test_open_data_indicators_state_the_reason(client: httpx.AsyncClient) -> None:
    with clock(client, date(2026, 11, 30)):
        rows = (await client.get(f"{API}/open-data/indicators.json")).json()
    assert rows["columns"][10:16] == [
        "attainment",
        "progress_ratio",
        "level_outcome",
        "attainment_reason_vi",
        "attainment_reason_en",
        "latest_value",
    ]
    by_code = {r["target"]: r for r in rows["items"]}
    work = by_code["CT-2025-01.2"]
    assert (work["attainment"], work["progress_ratio"], work["level_outcome"]) == (
        "not_applicable",
        None,
        "unknown",
    )
    assert (work["attainment_reason_vi"], work["attainment_reason_en"]) == (
        NOT_JUDGED["vi"],
        NOT_JUDGED["en"],
    )
    assert by_code["CT-2030-12.2"]["level_outcome"] == "no_successor"
    province = by_code["CT-2025-01.1"]
    assert province["level_outcome"] is None and province["attainment_reason_en"] is None
    assert province["attainment"] != "not_applicable"

    with clock(client, date(2025, 6, 30)):
        rows = (await client.get(f"{API}/open-data/indicators.json")).json()
    work = next(r for r in rows["items"] if r["target"] == "CT-2025-01.2")
    assert work["attainment"] != "not_applicable"
    assert work["level_outcome"] is None and work["attainment_reason_vi"] is None


# The rules on a graph built here: the date comes from the event, and a target due before the
# level ended keeps its attainment.


def _lineage(ended_on: date) -> Lineage:
    district = AgencyRef(code="HX", name="UBND huyện X", short_name="UBND huyện X", kind="district")
    city = AgencyRef(code="TP", name="UBND thành phố", short_name="UBND TP", kind="province")
    step = EventStep(
        code="EV", date=ended_on, kind="level_abolished", legal_basis=["1/2030/QH"], verified=True
    )
    event = EventNode(
        code="EV",
        date=ended_on,
        kind="level_abolished",
        predecessors=("HX",),
        successors=("TP",),
        transfers=(),
        step=step,
        level_targets=(
            {
                "plan": "P/1",
                "target": "T.2",
                "outcome": "carried",
                "carried_by": "commune",
                "verified": True,
                "reason": {"vi": "Cấp xã tiếp nhận.", "en": "The communes carry it."},
                "sources": ["https://example.org/decision"],
                "note": None,
            },
        ),
    )
    return Lineage(agencies={"HX": district, "TP": city}, members={}, events=[event])


def test_the_date_is_the_events() -> None:
    lineage = _lineage(date(2026, 1, 1))
    assert (
        level_succession.succession(lineage, "P/1", "T.2", "district", date(2025, 12, 31)) is None
    )
    found = level_succession.succession(lineage, "P/1", "T.2", "district", date(2026, 1, 1))
    assert found is not None
    assert (found.ended_on, found.outcome, found.carried_by) == (
        date(2026, 1, 1),
        "carried",
        "commune",
    )
    # Another plan's target of the same code is not this record's: unknown, said so.
    other = level_succession.succession(lineage, "Q/2", "T.2", "district", date(2026, 1, 1))
    assert other is not None and (other.outcome, other.verified, other.sources) == (
        "unknown",
        False,
        [],
    )
    assert other.reason.en == (
        "The district level ended on 2026-01-01; no record says which level now carries this "
        "target."
    )
    assert level_succession.succession(lineage, "P/1", "T.2", "province", date(2027, 1, 1)) is None


def test_a_target_due_before_the_level_ended_keeps_its_attainment() -> None:
    lineage = _lineage(date(2026, 1, 1))
    found = level_succession.succession(lineage, "P/1", "T.2", "district", date(2026, 6, 1))
    assert level_succession.attainment_reason(found, 2025) is None  # due 31/12/2025
    reason = level_succession.attainment_reason(found, 2026)
    assert reason is not None and reason.en.startswith(
        "Attainment is not judged: the district level ended on 2026-01-01 (1/2030/QH)"
    )


async def test_dashboard_and_scorecard_count_them_as_not_applicable(
    client: httpx.AsyncClient,
) -> None:
    with clock(client, date(2026, 11, 30)):
        board = (await client.get(f"{API}/dashboard")).json()
        card = (await client.get(f"{API}/agencies/VPUBND/scorecard")).json()
    assert board["targets_by_year"]["2025"]["not_applicable"] == 1  # CT-2025-01.2
    assert board["targets_by_year"]["2030"]["not_applicable"] == 2  # CT-2030-02.2, -12.2
    assert card["targets"]["not_applicable"] == 2  # VP UBND leads CT-2025-01 and CT-2030-02
    with clock(client, date(2025, 6, 30)):
        board = (await client.get(f"{API}/dashboard")).json()
        card = (await client.get(f"{API}/agencies/VPUBND/scorecard")).json()
    assert {y: c["not_applicable"] for y, c in board["targets_by_year"].items()} == {
        "2025": 0,
        "2030": 0,
    }
    assert card["targets"]["not_applicable"] == 0
