"""Agencies that have ended: nobody signs in from one, nobody is placed in one.

An agency has ended when its ``valid_to`` (derived from the recorded reorganisations,
app.services.reorganisations.refresh_validity) is before today in Việt Nam. Its users keep
their accounts and history; an administrator moves them to a successor, which the refusals
name: the agencies that carry the ended agency's part today, through the whole event chain
(Sở TTTT → Sở KH&CN → Sở KH&CN thành phố Hải Phòng), from the reorganisations graph.

The rule is ``Settings.refuse_ended_agencies`` (``DXPLAN_REFUSE_ENDED_AGENCIES``, on by
default).
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.config import Settings
from app.core.errors import AppError, FieldValidationError
from app.models import Agency
from app.schemas.common import VIETNAM, AgencyRef
from app.services.lineage import Lineage, load_lineage


def today_in_vietnam() -> date:
    """The day the rule is judged on where no request gives one (the command line)."""
    return datetime.now(VIETNAM).date()


@dataclass(frozen=True)
class Ended:
    """An ended agency and the agencies that carry its part today (possibly none)."""

    agency: Agency
    successors: list[AgencyRef]

    @property
    def params(self) -> dict[str, object]:
        """The placeholders of the refusals' messages."""
        return {
            "agency": self.agency.name,
            "code": self.agency.code,
            "since": (self.agency.valid_to or date.min).strftime("%d/%m/%Y"),
            "successors": ", ".join(f"{a.name} ({a.code})" for a in self.successors),
        }


def successors_today(lineage: Lineage, code: str, today: date) -> list[AgencyRef]:
    return list(lineage.resolve(code, today).responsible) if code in lineage.agencies else []


async def ended(session: AsyncSession, agency: Agency, today: date) -> Ended | None:
    """``agency`` with its successors of ``today`` when it has ended before ``today``."""
    if agency.valid_to is None or agency.valid_to >= today:
        return None
    lineage = await load_lineage(session)
    return Ended(agency, successors_today(lineage, agency.code, today))


async def ended_agency_of(
    session: AsyncSession, agency_id: int, today: date, settings: Settings
) -> Ended | None:
    """The user's agency when the rule is on and it has ended; None otherwise."""
    if not settings.refuse_ended_agencies:
        return None
    agency = (await session.execute(select(Agency).where(col(Agency.id) == agency_id))).scalar()
    return await ended(session, agency, today) if agency is not None else None


def refuse_placement(found: Ended, field: str = "agency") -> AppError:
    """422: a user may not be created in, or moved into, an ended agency."""
    rule = "agency_ended" if found.successors else "agency_ended_no_successor"
    return FieldValidationError([(field, rule)], "body", **found.params)
