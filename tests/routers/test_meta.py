"""The labelled enums match the enums the contract actually uses."""

import httpx


async def test_enums_match_the_contract(client: httpx.AsyncClient) -> None:
    enums = (await client.get("/api/v1/meta/enums")).json()["enums"]
    values = {name: [label["value"] for label in labels] for name, labels in enums.items()}
    for labels in enums.values():
        assert all(label["vi"] and label["en"] for label in labels)
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]

    def enum_of(schema: str, field: str) -> list[str]:
        prop = schemas[schema]["properties"][field]
        for option in prop.get("anyOf", [prop]):
            option = option.get("items", option)
            if "$ref" in option:
                option = schemas[option["$ref"].rsplit("/", 1)[1]]
            if "enum" in option:
                return list(option["enum"])
        raise AssertionError(f"{schema}.{field} has no enum")

    pairs = [
        ("role", "UserRead", "role"),
        ("agency_kind", "AgencySummary", "kind"),
        ("recurrence", "TaskSummary", "recurrence"),
        ("task_status", "TaskUpdateRead", "status"),
        ("derived_status", "TaskSummary", "derived_status"),
        ("attainment", "TargetRead", "attainment"),
        ("comparator", "TargetRead", "comparator"),
        ("target_kind", "TargetRead", "kind"),
        ("level", "TargetRead", "level"),
        ("period_kind", "PeriodRead", "kind"),
        ("period_state", "PeriodRead", "state"),
        ("period_status", "PeriodRead", "status"),
        ("report_state", "ReportRead", "state"),
        ("item_review_state", "TaskUpdateRead", "review_state"),
        ("provenance", "IndicatorValueRead", "provenance"),
        ("document_status", "DocumentUpdateRead", "status"),
        ("compliance", "AgencyCompliance", "status"),
        ("webhook_event", "DeliveryRead", "event"),
        ("delivery_status", "DeliveryRead", "status"),
        ("agency_role", "AgencyItemLink", "role"),
        ("object_type", "ChangeRead", "type"),
        ("change_op", "ChangeRead", "op"),
        ("report_item_kind", "AttachmentRead", "item_kind"),
        ("search_field", "SearchHit", "matched_field"),
        ("permission", "MeRead", "permissions"),
        ("reorganisation_kind", "ReorganisationRead", "kind"),
        ("reorganisation_origin", "ReorganisationRead", "origin"),
        ("level_outcome", "LevelSuccession", "outcome"),
    ]
    for name, schema, field in pairs:
        assert sorted(values[name]) == sorted(enum_of(schema, field)), name
    assert sorted(values) == sorted(name for name, _, _ in pairs)
