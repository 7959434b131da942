"""Every enum value a client displays has a Vietnamese and an English label in /meta/enums.

The list of enums is not written here: it is read from the app's own OpenAPI document, every
schema property with an `enum` (directly, in `anyOf`/`items`, or through a `$ref` to a named
enum) and every named enum component. A new enum in the contract without labels fails here.
"""

from typing import Any

import httpx

API = "/api/v1"

# Enums no client shows as words, each with the reason. Keep this short. An exclusion covers
# the `…Partial` copy of its schema too (the `fields=` answer, which copies its enums).
TECHNICAL = {
    # An IANA media type: the app shows the file's name and an icon, not the type.
    "AttachmentRead.content_type": "media type",
}


def is_technical(where: str) -> bool:
    """`where` (`Schema.property`) is excluded, itself or as the partial copy of one."""
    schema, dot, prop = where.partition(".")
    return f"{schema.removesuffix('Partial')}{dot}{prop}" in TECHNICAL


def contract_enums(spec: dict[str, Any]) -> dict[str, set[str]]:
    """`Schema.property` (or `Schema` for a named enum) → the values the contract allows."""
    schemas: dict[str, Any] = spec["components"]["schemas"]

    def values_of(node: Any, seen: frozenset[str] = frozenset()) -> set[str]:
        if not isinstance(node, dict):
            return set()
        found = {str(v) for v in node.get("enum", []) if v is not None}
        if "const" in node and node["const"] is not None:
            found.add(str(node["const"]))
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name not in seen and "enum" in schemas[name]:
                found |= values_of(schemas[name], seen | {name})
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                found |= values_of(option, seen)
        if "items" in node:
            found |= values_of(node["items"], seen)
        return found

    enums: dict[str, set[str]] = {}
    for name, schema in schemas.items():
        if "enum" in schema:
            enums[name] = values_of(schema)
        for prop, node in schema.get("properties", {}).items():
            if values := values_of(node):
                enums[f"{name}.{prop}"] = values
    return enums


async def test_every_displayed_enum_value_has_both_labels(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    response = await client.get(f"{API}/meta/enums")
    assert response.status_code == 200
    labelled = response.json()["enums"]
    for name, labels in labelled.items():
        values = [label["value"] for label in labels]
        assert len(values) == len(set(values)), name
        for label in labels:
            assert label["vi"].strip() and label["en"].strip(), (name, label)
    label_sets = {name: {label["value"] for label in labels} for name, labels in labelled.items()}

    enums = contract_enums(spec)
    assert len(enums) > 40  # the walk found the contract's enums
    assert set(TECHNICAL) <= set(enums), "an exclusion no longer in the contract"
    missing: list[str] = []
    for where, values in sorted(enums.items()):
        if is_technical(where):
            continue
        if any(values <= labelled_values for labelled_values in label_sets.values()):
            continue
        nearest = max(label_sets, key=lambda name: len(values & label_sets[name]))
        missing.append(f"{where}: {sorted(values - label_sets[nearest])} (nearest: {nearest})")
    assert missing == [], "\n".join(missing)


async def test_the_labels_named_by_the_issue(client: httpx.AsyncClient) -> None:
    """The enums the app showed without labels, with their exact words."""
    enums = (await client.get(f"{API}/meta/enums")).json()["enums"]

    def labels(name: str) -> dict[str, tuple[str, str]]:
        return {label["value"]: (label["vi"], label["en"]) for label in enums[name]}

    assert labels("agency_role") == {
        "lead": ("Chủ trì", "Lead"),
        "coordinating": ("Phối hợp", "Coordinating"),
        "addressee": ("Được giao", "Addressee"),
    }
    object_types = labels("object_type")
    assert object_types["task"] == ("Nhiệm vụ", "Task")
    assert object_types["indicator_value"] == ("Số liệu chỉ tiêu", "Indicator value")
    assert labels("change_op") == {
        "upsert": ("Thêm mới hoặc cập nhật", "Created or updated"),
        "delete": ("Đã xóa", "Deleted"),
    }
    assert labels("search_field")["bullets"] == ("Các ý", "Bullet points")
