"""Fidelity of app/data/plan_2358.json to ../shared/plan/ke-hoach-2358-KH-UBND-2021.txt.

Every text in the data file, with its listed corrections undone, must appear word for word
(whitespace aside) in the source. The file is read directly: no database is needed.
"""

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from app.services.plan_data import DEFAULT_PLAN_FILE

SOURCE_FILE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "plan"
    / "ke-hoach-2358-KH-UBND-2021.txt"
)
PLAN: dict[str, Any] = json.loads(DEFAULT_PLAN_FILE.read_text(encoding="utf-8"))
CORRECTIONS: list[dict[str, str]] = PLAN["corrections"]
MARKUP = re.compile(r"<[^>]*>|\*\*|¹")

# (location, text, scope); scope "cells" is the content column of the annex tables,
# "full" is the whole source. Locations use the same paths as corrections[].location.
Field = tuple[str, str, str]


def text_fields(plan: dict[str, Any]) -> list[Field]:
    fields: list[Field] = []
    for s in plan["sections"]:
        loc = f"sections/{s['code']}"
        fields += [(f"{loc}/{key}", s[key], "full") for key in ("title", "text") if s[key]]
        fields += [(f"{loc}/bullets/{k}", b, "full") for k, b in enumerate(s["bullets"])]
    for i in plan["indicators"]:
        loc = f"indicators/{i['code']}"
        fields.append((f"{loc}/text", i["text"], "cells"))
        fields += [(f"{loc}/targets/{t['code']}", t["text"], "cells") for t in i["targets"]]
    fields += [(f"documents/{d['code']}/title", d["title"], "cells") for d in plan["documents"]]
    fields += [(f"task_groups/{g['code']}/title", g["title"], "cells") for g in plan["task_groups"]]
    for t in plan["tasks"]:
        loc = f"tasks/{t['code']}"
        fields += [
            (f"{loc}/title", t["title"], "cells"),
            (f"{loc}/full_text", t["full_text"], "cells"),
        ]
        fields += [(f"{loc}/deliverables/{k}", d, "cells") for k, d in enumerate(t["deliverables"])]
        if t["lead_text"]:
            fields.append((f"{loc}/lead_text", t["lead_text"], "full"))
    for k, annex in enumerate(plan["plan"]["annexes"]):
        fields.append((f"plan/annexes/{k}/title", annex["title"], "full"))
    return fields


FIELDS = text_fields(PLAN)
TARGETS = [t for i in PLAN["indicators"] for t in i["targets"] if t["value"] is not None]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def source_index(raw: str) -> dict[str, str]:
    """The source without markup and whitespace: whole, and as the tables' content column."""
    clean = MARKUP.sub("", raw)
    cells = []
    for line in clean.split("\n"):
        if line.startswith("TT\t"):  # table header row
            continue
        columns = line.split("\t")
        cells.append(columns[1] if len(columns) > 1 else line)
    return {"full": squash(clean), "cells": squash("".join(cells))}


def undo_corrections(location: str, text: str, corrections: list[dict[str, str]]) -> str:
    for c in corrections:
        if location == c["location"] or location.startswith(c["location"] + "/"):
            text = text.replace(c["corrected"], c["original"])
    return text


def in_source(
    field: Field, index: dict[str, str], corrections: list[dict[str, str]] = CORRECTIONS
) -> bool:
    location, text, scope = field
    wanted = squash(undo_corrections(location, text, corrections))
    return bool(wanted) and wanted in index[scope]


def markup_remnants(obj: Any, path: str = "") -> list[str]:
    """Paths of every string in obj that still carries an HTML tag, '**' or a footnote mark."""
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in markup_remnants(v, f"{path}/{k}")]
    if isinstance(obj, list):
        return [p for k, v in enumerate(obj) for p in markup_remnants(v, f"{path}/{k}")]
    return [path] if isinstance(obj, str) and MARKUP.search(obj) else []


def numbers_in(text: str) -> set[int]:
    """Integers written in text; '1.000' (Vietnamese thousands separator) reads as 1000."""
    return {int(m.replace(".", "")) for m in re.findall(r"\d+(?:\.\d{3})*(?!\d)", text)}


@pytest.fixture(scope="module")
def index() -> dict[str, str]:
    if not SOURCE_FILE.is_file():
        message = f"source text not found at {SOURCE_FILE}"
        if "CI" in os.environ:
            pytest.fail(message)
        pytest.skip(message)
    return source_index(SOURCE_FILE.read_text(encoding="utf-8"))


def test_inventory() -> None:
    assert len(FIELDS) == len({loc for loc, _, _ in FIELDS}), "duplicate locations"
    counts = {k: len(PLAN[k]) for k in ("sections", "indicators", "documents", "tasks")}
    assert counts == {"sections": 67, "indicators": 27, "documents": 13, "tasks": 81}
    assert CORRECTIONS, "the data file lists no corrections"


@pytest.mark.parametrize("field", FIELDS, ids=[loc for loc, _, _ in FIELDS])
def test_text_appears_in_source(field: Field, index: dict[str, str]) -> None:
    assert in_source(field, index), f"{field[0]} not found in the source: {field[1]!r}"


@pytest.mark.parametrize("correction", CORRECTIONS, ids=[c["location"] for c in CORRECTIONS])
def test_correction_original_in_source(correction: dict[str, str], index: dict[str, str]) -> None:
    assert squash(correction["original"]) in index["full"]


@pytest.mark.parametrize("correction", CORRECTIONS, ids=[c["location"] for c in CORRECTIONS])
def test_correction_applied_at_its_location(correction: dict[str, str]) -> None:
    loc, corrected = correction["location"], correction["corrected"]
    assert correction["original"] != corrected
    assert any(
        (field_loc == loc or field_loc.startswith(loc + "/")) and corrected in text
        for field_loc, text, _ in FIELDS
    ), f"{corrected!r} not found in any text at {loc}"


def test_no_markup_remnants() -> None:
    assert markup_remnants(PLAN) == []


@pytest.mark.parametrize("target", TARGETS, ids=[t["code"] for t in TARGETS])
def test_target_value_appears_in_its_text(target: dict[str, Any]) -> None:
    assert target["value"] in numbers_in(target["text"]), target["text"]


def test_fidelity_check_catches_an_edit(index: dict[str, str]) -> None:
    by_loc = {f[0]: f for f in FIELDS}
    field = by_loc["sections/II.2.c/text"]  # carries the correction "Công dữ liệu" -> "Cổng"
    assert in_source(field, index)
    assert not in_source(field, index, corrections=[]), "correction was not needed"
    loc, text, scope = field
    assert not in_source((loc, text.replace("dữ liệu", "dữ kiện", 1), scope), index)
    assert not in_source((loc, text + " và thêm một câu", scope), index)
    assert not in_source((loc, "", scope), index)


def test_markup_check_catches_remnants() -> None:
    plan = copy.deepcopy(PLAN)
    plan["tasks"][0]["full_text"] += " <i>x</i>"
    plan["sections"][0]["title"] = "**" + plan["sections"][0]["title"]
    plan["indicators"][0]["targets"][0]["text"] += "¹"
    assert markup_remnants(plan) == [
        "/sections/0/title",
        "/indicators/0/targets/0/text",
        "/tasks/0/full_text",
    ]


def test_value_check_reads_numbers() -> None:
    assert numbers_in("Phấn đấu có trên 1.000 doanh nghiệp") == {1000}
    assert numbers_in("đạt tối thiểu 95%; giai đoạn 2021-2025") == {95, 2021, 2025}
    assert 70 not in numbers_in("tăng 700 doanh nghiệp")
