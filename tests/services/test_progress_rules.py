"""The derived status and attainment rules, with a fixed clock."""

from datetime import date
from decimal import Decimal

import pytest

from app.models import IndicatorTarget
from app.services.progress import Progress, ValuePoint, attainment, derive_status


def progress(percent: int, status: str = "in_progress", year: int = 2022) -> Progress:
    return Progress(
        status=status,
        percent_complete=percent,
        public_summary="",
        period_code=f"annual-{year}",
        period_year=year,
        as_of=date(year, 11, 15),
        approved_at=None,
    )


@pytest.mark.parametrize(
    ("start", "end", "items", "today", "expected"),
    [
        (2021, 2022, [progress(100, "completed")], date(2023, 6, 1), "completed"),
        (2021, 2022, [progress(90)], date(2023, 1, 1), "overdue"),
        (2021, 2022, [], date(2022, 12, 31), "no_data"),
        (2023, 2025, [], date(2022, 6, 1), "not_started"),
        # Half of 2021-2022 elapsed on 1 Jan 2022 (50.1 %): 30 % is within 25 points ...
        (2021, 2022, [progress(30)], date(2022, 1, 1), "on_track"),
        # ... 20 % is not.
        (2021, 2022, [progress(20)], date(2022, 1, 1), "behind"),
        (2021, 2025, [progress(0, "not_started")], date(2021, 3, 1), "on_track"),
        (2021, 2025, [progress(100)], date(2030, 1, 1), "completed"),
    ],
)
def test_task_status(
    start: int, end: int, items: list[Progress], today: date, expected: str
) -> None:
    status, judged = derive_status(
        start_year=start, end_year=end, recurrence="once", progress=items, today=today
    )
    assert (status, judged) == (expected, None)


def test_annual_tasks_are_judged_per_year() -> None:
    reported_2022 = [progress(100, "completed", 2022)]
    # In 2023 last year's completion does not count: no data for 2023 yet.
    assert derive_status(
        start_year=2021,
        end_year=2025,
        recurrence="annual",
        progress=reported_2022,
        today=date(2023, 5, 1),
    ) == ("no_data", 2023)
    assert derive_status(
        start_year=2021,
        end_year=2025,
        recurrence="annual",
        progress=reported_2022,
        today=date(2022, 12, 20),
    ) == ("completed", 2022)
    # After the end year, the end year is judged; without completion it is overdue.
    assert derive_status(
        start_year=2021,
        end_year=2025,
        recurrence="annual",
        progress=[progress(50, year=2025)],
        today=date(2026, 11, 29),
    ) == ("overdue", 2025)
    assert derive_status(
        start_year=None, end_year=None, recurrence="once", progress=[], today=date(2026, 1, 1)
    ) == ("no_data", None)


def point(
    value: float | None,
    level: str | None = None,
    district: str | None = None,
    achieved: bool | None = None,
) -> ValuePoint:
    return ValuePoint(
        target_id=1,
        value=None if value is None else Decimal(str(value)),
        achieved=achieved,
        as_of=date(2025, 11, 15),
        level=level,
        district=district,
        provenance="self_reported",
        source="",
        period_code="annual-2025",
    )


@pytest.mark.parametrize(
    ("comparator", "goal", "series", "expected"),
    [
        ("gte", 90, [point(92)], ("met", 1.0)),
        ("gte", 90, [point(45)], ("not_met", 0.5)),
        ("gt", 700, [point(700)], ("not_met", 1.0)),
        ("gt", 700, [point(701)], ("met", 1.0)),
        ("lte", 10, [point(20)], ("not_met", 0.5)),
        ("gte", 90, [], ("no_data", None)),
        # District values do not speak for the province.
        ("gte", 90, [point(95, "district", "HTK")], ("no_data", None)),
        ("gte", 90, [point(95), point(60, "province")], ("not_met", 0.6667)),
    ],
)
def test_attainment(
    comparator: str, goal: float, series: list[ValuePoint], expected: tuple[str, float | None]
) -> None:
    target = IndicatorTarget(
        indicator_id=1,
        code="X.1",
        metric="m",
        kind="numeric",
        comparator=comparator,
        value=Decimal(str(goal)),
        deadline_year=2025,
    )
    assert attainment(target, series) == expected


def test_qualitative_attainment() -> None:
    target = IndicatorTarget(
        indicator_id=1,
        code="X.1",
        metric="m",
        kind="qualitative",
        comparator=None,
        value=None,
        deadline_year=2025,
    )
    assert attainment(target, [point(None, achieved=True)]) == ("met", 1.0)
    assert attainment(target, [point(None, achieved=False)]) == ("not_met", None)
