"""The shipped reorganisation data (app/data/reorganisations_2358.json): it validates against the
plan, carries the 2025 events with their legal basis, and its chains end where the sources say.
Pure data tests: no database, no HTTP."""

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.services.plan_data import read_plan_file
from app.services.reorganisation_data import (
    DEFAULT_REORGANISATIONS_FILE,
    Event,
    ReorganisationFile,
    plan_context,
    read_reorganisations,
    resolve_agency,
)

DISTRICTS = {"TPHD", "TPCL", "TXKM", "HBG", "HCG", "HGL", "HKT", "HNS", "HNG", "HTH", "HTM", "HTK"}


@pytest.fixture(scope="module")
def data() -> ReorganisationFile:
    return read_reorganisations()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DEFAULT_REORGANISATIONS_FILE.read_text(encoding="utf-8"))
    return loaded


def event(data: ReorganisationFile, code: str) -> Event:
    return next(e for e in data.events if e.code == code)


def validate(raw: dict[str, Any]) -> ReorganisationFile:
    return ReorganisationFile.model_validate(raw, context=plan_context(read_plan_file()))


def test_shipped_file_validates_and_every_predecessor_exists(data: ReorganisationFile) -> None:
    plan_codes = {a.code for a in read_plan_file().agencies}
    introduced: set[str] = set()
    for ev in sorted(data.events, key=lambda e: e.date):
        for code in ev.predecessors:
            assert code in plan_codes or code in introduced, (ev.code, code)
        introduced |= {a.code for a in ev.new_agencies}
    # The plan's own agencies are the predecessors of the March 2025 events.
    march = [e for e in data.events if e.date == date(2025, 3, 1)]
    assert {c for e in march for c in e.predecessors} <= plan_codes
    assert {u.agency for u in data.unresolved} >= {"CTK", "CTHUE", "KBNN", "NHNN", "CCHQ"}


def test_sttt_merger_into_science_and_technology(data: ReorganisationFile) -> None:
    ev = event(data, "HD-2025-03-KHCN")
    assert ev.date == date(2025, 3, 1)
    assert (ev.kind, sorted(ev.predecessors), ev.successors) == (
        "merge",
        ["SKHCN", "STTTT"],
        ["SKHCN"],
    )
    assert ev.verified is True
    numbers = {b.number for b in ev.legal_basis}
    assert "45/2025/NĐ-CP" in numbers
    decree = next(b for b in ev.legal_basis if b.number == "45/2025/NĐ-CP")
    assert (decree.date, decree.issuer) == (date(2025, 2, 28), "Chính phủ")
    council = next(b for b in ev.legal_basis if b.number is None)
    assert council.issuer == "Hội đồng nhân dân tỉnh Hải Dương" and council.note
    moved = {t.to: t for t in ev.transfers}
    assert set(moved) == {"SVHTTDL", "CATINH_HD"}
    assert all(t.from_ == "STTTT" and not t.verified and t.note for t in ev.transfers)


def test_province_merger_basis_and_effect(data: ReorganisationFile) -> None:
    ev = event(data, "HP-2025-07-CITY")
    assert (ev.date, ev.predecessors, ev.successors) == (
        date(2025, 7, 1),
        ["UBND_TINH"],
        ["UBND_HP"],
    )
    basis = next(b for b in ev.legal_basis if b.number == "202/2025/QH15")
    assert (basis.date, basis.issuer) == (date(2025, 6, 12), "Quốc hội")
    assert data.agency("UBND_HP") is not None


def test_district_level_ends_for_the_twelve_units(data: ReorganisationFile) -> None:
    ev = event(data, "VN-2025-07-HUYEN")
    assert (ev.kind, ev.date) == ("level_abolished", date(2025, 7, 1))
    assert set(ev.predecessors) == DISTRICTS
    assert {b.number for b in ev.legal_basis} >= {
        "203/2025/QH15",
        "72/2025/QH15",
        "1669/NQ-UBTVQH15",
    }
    assert ev.successors == ["UBND_HP", "G_UBND_XA_HP"]


@pytest.mark.parametrize(
    ("code", "on", "agencies", "path"),
    [
        ("STTTT", date(2024, 6, 1), ("STTTT",), ()),
        ("STTTT", date(2025, 2, 28), ("STTTT",), ()),
        ("STTTT", date(2025, 3, 1), ("SKHCN",), ("HD-2025-03-KHCN",)),
        ("STTTT", date(2026, 11, 30), ("HP_SKHCN",), ("HD-2025-03-KHCN", "HP-2025-07-SKHCN")),
        ("SKHCN", date(2026, 11, 30), ("HP_SKHCN",), ("HP-2025-07-SKHCN",)),
        ("SKHDT", date(2026, 11, 30), ("HP_STC",), ("HD-2025-03-TC", "HP-2025-07-STC")),
        ("STNMT", date(2025, 6, 30), ("SNNMT",), ("HD-2025-03-NNMT",)),
        ("UBND_TINH", date(2026, 11, 30), ("UBND_HP",), ("HP-2025-07-CITY",)),
        ("HKT", date(2026, 11, 30), ("UBND_HP", "G_UBND_XA_HP"), ("VN-2025-07-HUYEN",)),
        ("CTK", date(2026, 11, 30), ("CTK",), ()),
    ],
)
def test_chains(
    data: ReorganisationFile, code: str, on: date, agencies: tuple[str, ...], path: tuple[str, ...]
) -> None:
    resolution = resolve_agency(data, code, on)
    assert (resolution.agencies, resolution.path) == (agencies, path)
    hp_skhcn = data.agency("HP_SKHCN")
    assert hp_skhcn is not None and hp_skhcn.name == "Sở Khoa học và Công nghệ thành phố Hải Phòng"


def test_unknown_predecessor_is_refused(raw: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(raw))
    broken["events"][0]["predecessors"] = ["STTTT", "NOPE"]
    with pytest.raises(ValidationError, match="unknown predecessor NOPE"):
        validate(broken)


def test_new_agency_used_before_it_exists_is_refused(raw: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(raw))
    city = next(e for e in broken["events"] if e["code"] == "HP-2025-07-SKHCN")
    city["date"] = "2025-02-01"
    city["predecessors"] = ["SNNMT"]  # introduced by the 2025-03-01 merger only
    with pytest.raises(ValidationError, match="unknown predecessor SNNMT"):
        validate(broken)


@pytest.mark.parametrize("bad", ["01/03/2025", "2025-3-1", 1740787200])
def test_dates_must_be_iso(raw: dict[str, Any], bad: Any) -> None:
    broken = json.loads(json.dumps(raw))
    broken["events"][0]["date"] = bad
    with pytest.raises(ValidationError, match="ISO date"):
        validate(broken)


def test_verified_event_without_numbered_basis_is_refused(raw: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(raw))
    broken["events"][0]["legal_basis"] = [
        b for b in broken["events"][0]["legal_basis"] if b["number"] is None
    ]
    with pytest.raises(ValidationError, match="legal basis with a document number"):
        validate(broken)
    broken["events"][0]["verified"] = False
    broken["events"][0]["notes"] = None
    with pytest.raises(ValidationError, match="unverified event needs notes"):
        validate(broken)


def test_level_abolished_only_for_districts(raw: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(raw))
    huyen = next(e for e in broken["events"] if e["code"] == "VN-2025-07-HUYEN")
    huyen["predecessors"].append("SYT")
    with pytest.raises(ValidationError, match="SYT is not a district-level unit"):
        validate(broken)


def test_transfer_items_must_be_plan_items(raw: dict[str, Any], tmp_path: Path) -> None:
    broken = json.loads(json.dumps(raw))
    labour = next(e for e in broken["events"] if e["code"] == "HD-2025-03-NV")
    labour["transfers"][0]["items"].append("Z.99")
    path = tmp_path / "reorganisations.json"
    path.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"unknown plan item Z\.99"):
        read_reorganisations(path)


def test_every_district_target_of_the_plan_is_recorded(data: ReorganisationFile) -> None:
    """What became of each district-level target is recorded on the event that ended the level:
    cited, or unknown with a note (issue 11, item 3)."""
    district_targets = {
        t.code for i in read_plan_file().indicators for t in i.targets if t.level == "district"
    }
    recorded = {t.target: t for t in event(data, "VN-2025-07-HUYEN").level_targets}
    assert set(recorded) == district_targets == {"CT-2025-01.2", "CT-2030-02.2", "CT-2030-12.2"}
    assert [e.code for e in data.events if e.level_targets] == ["VN-2025-07-HUYEN"]
    for record in recorded.values():
        assert record.reason.vi and record.reason.en
        assert record.sources if record.verified else record.note
    assert recorded["CT-2030-12.2"].outcome == "no_successor"
    assert {recorded[c].outcome for c in ("CT-2025-01.2", "CT-2030-02.2")} == {"unknown"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "CT-2025-01.1"}, "CT-2025-01.1 is not a district-level target"),
        ({"target": "CT-9999-01.1"}, "CT-9999-01.1 is not a district-level target"),
        ({"outcome": "carried"}, "carried_by is set exactly when the outcome is carried"),
        ({"carried_by": "commune"}, "carried_by is set exactly when the outcome is carried"),
        ({"verified": True}, "an unknown outcome is not verified"),
        ({"note": None}, "an unverified record needs a note"),
        (
            {"outcome": "no_successor", "verified": True, "sources": []},
            "a verified record cites its sources",
        ),
    ],
)
def test_level_target_records_are_checked(
    raw: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    broken = json.loads(json.dumps(raw))
    huyen = next(e for e in broken["events"] if e["code"] == "VN-2025-07-HUYEN")
    huyen["level_targets"][0].update(change)
    with pytest.raises(ValidationError, match=message):
        validate(broken)


def test_level_targets_only_on_a_level_abolished_event(raw: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(raw))
    huyen = next(e for e in broken["events"] if e["code"] == "VN-2025-07-HUYEN")
    merger = next(e for e in broken["events"] if e["code"] == "HD-2025-03-KHCN")
    merger["level_targets"] = huyen["level_targets"][:1]
    with pytest.raises(ValidationError, match="only a level_abolished event lists level targets"):
        validate(broken)
    huyen["level_targets"].append(huyen["level_targets"][0])
    with pytest.raises(ValidationError, match="duplicate level targets"):
        validate(broken)
