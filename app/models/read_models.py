"""Read models of public progress (migration 0017): kept at commit by database triggers from
the approved items, never written by the service. See app.services.read_models."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, DateTime, Numeric
from sqlmodel import Field, SQLModel


class TaskProgressLatest(SQLModel, table=True):
    """Per task and year of the reporting period: the newest approved progress row."""

    __tablename__ = "task_progress_latest"

    task_id: int = Field(primary_key=True)  # no foreign keys: see migration 0017
    year: int = Field(primary_key=True)
    task_update_id: int
    status: str = Field(max_length=12)
    percent_complete: int
    public_summary: str
    period_id: int
    cutoff_date: date
    approved_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class IndicatorValueLatest(SQLModel, table=True):
    """Per indicator target, level and district: the newest approved value."""

    __tablename__ = "indicator_value_latest"

    indicator_value_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    target_id: int = Field(index=True)
    level: str | None = Field(default=None, max_length=10)
    district_agency_id: int | None = None
    value: Decimal | None = Field(default=None, sa_column=Column(Numeric(16, 4)))
    achieved: bool | None = None
    as_of: date
    provenance: str = Field(max_length=16)
    source: str
    period_id: int


class IndicatorValueYearly(SQLModel, table=True):
    """Per indicator target, level, district and year of `as_of` (migration 0023): the newest
    approved value, and whether the group holds more than it."""

    __tablename__ = "indicator_value_yearly"

    target_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    place_level: str = Field(primary_key=True, max_length=10)  # '' for none
    place_district: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    indicator_value_id: int
    level: str | None = Field(default=None, max_length=10)
    district_agency_id: int | None = None
    value: Decimal | None = Field(default=None, sa_column=Column(Numeric(16, 4)))
    achieved: bool | None = None
    as_of: date
    provenance: str = Field(max_length=16)
    source: str
    period_id: int
    more: bool
