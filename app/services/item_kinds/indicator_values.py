"""Indicator values: a figure (or achieved yes/no) for one target, as of a date, with
its level or district and where it came from."""

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.errors import FieldValidationError
from app.models import Agency, Indicator, IndicatorAgency, IndicatorTarget, IndicatorValue, Plan
from app.schemas.reports import (
    IndicatorValueCreate,
    IndicatorValuePage,
    IndicatorValuePatch,
    IndicatorValueRead,
)
from app.services.item_kinds.base import Extras, ItemKind
from app.services.successors import require_assigned

_DECIMALS = ("value", "numerator", "denominator")


class IndicatorValues(
    ItemKind[IndicatorValue, IndicatorValueCreate, IndicatorValuePatch, IndicatorValueRead]
):
    order = 2
    path = "indicator-values"
    entity = "indicator_value"
    model = IndicatorValue
    create_schema = IndicatorValueCreate
    patch_schema = IndicatorValuePatch
    read_schema = IndicatorValueRead
    page_schema = IndicatorValuePage
    subject_fields = frozenset({"target", "district"})
    subject_doc = "indicator target (`target`: its code)"
    rules_doc = (
        " A numeric target needs `value`, a qualitative one `achieved`; `district` must"
        " name a district-level agency."
    )

    async def resolve(
        self,
        session: AsyncSession,
        plan: Plan,
        agency_id: int,
        body: IndicatorValueCreate,
        on: date,
    ) -> dict[str, Any]:
        row = (
            await session.execute(
                select(col(IndicatorTarget.id), col(Indicator.id), col(Indicator.code))
                .join(Indicator, col(Indicator.id) == col(IndicatorTarget.indicator_id))
                .where(col(Indicator.plan_id) == plan.id, col(IndicatorTarget.code) == body.target)
            )
        ).first()
        if row is None:
            raise FieldValidationError([("target", "unknown_target")])
        target_id, indicator_id, indicator_code = row
        await require_assigned(
            session,
            IndicatorAgency,
            "indicator_id",
            int(indicator_id or 0),
            indicator_code,
            agency_id,
            on,
            "target",
        )
        district_id = await _district(session, body)
        return {"target_id": int(target_id or 0), "district_agency_id": district_id}

    def columns(self, body: BaseModel, *, partial: bool) -> dict[str, Any]:
        """Numbers arrive as floats; the columns are exact decimals."""
        return {
            k: Decimal(str(v)) if k in _DECIMALS and v is not None else v
            for k, v in super().columns(body, partial=partial).items()
        }

    async def validate(self, session: AsyncSession, item: IndicatorValue) -> None:
        target_kind = (
            await session.execute(
                select(col(IndicatorTarget.kind)).where(col(IndicatorTarget.id) == item.target_id)
            )
        ).scalar_one()
        if target_kind == "numeric" and item.value is None:
            raise FieldValidationError([("value", "value_required")])
        if target_kind == "qualitative" and item.achieved is None:
            raise FieldValidationError([("achieved", "achieved_required")])

    async def extras(self, session: AsyncSession, items: list[IndicatorValue]) -> Extras:
        target_rows = await session.execute(
            select(
                col(IndicatorTarget.id),
                col(IndicatorTarget.code),
                col(IndicatorTarget.metric),
                col(Indicator.code),
            )
            .join(Indicator, col(Indicator.id) == col(IndicatorTarget.indicator_id))
            .where(col(IndicatorTarget.id).in_([i.target_id for i in items]))
        )
        targets = {tid: (code, metric, ind) for tid, code, metric, ind in target_rows.all()}
        district_ids = [i.district_agency_id for i in items if i.district_agency_id]
        district_rows = await session.execute(
            select(col(Agency.id), col(Agency.code)).where(col(Agency.id).in_(district_ids))
        )
        districts = {aid: code for aid, code in district_rows.all()}
        return {
            i.id or 0: {
                "target": {"code": targets[i.target_id][0], "title": targets[i.target_id][1]},
                "indicator": targets[i.target_id][2],
                "district": districts.get(i.district_agency_id or 0),
            }
            for i in items
        }


async def _district(session: AsyncSession, body: IndicatorValueCreate) -> int | None:
    if body.district is None:
        return None
    agency_id = (
        await session.execute(
            select(col(Agency.id)).where(
                col(Agency.code) == body.district, col(Agency.kind) == "district"
            )
        )
    ).scalar()
    if agency_id is None:
        raise FieldValidationError([("district", "unknown_district")])
    return int(agency_id)


KIND = IndicatorValues()
