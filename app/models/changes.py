"""The change log behind the sync feed, written by database triggers.

Each row records the transaction that made the change (pg_current_xact_id()). Readers only
serve changes of transactions older than every transaction still running (the snapshot's
xmin), in (transaction, id) order, so a change committed late can never fall behind a
cursor already handed out.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, func
from sqlmodel import Field, SQLModel


class Change(SQLModel, table=True):
    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_txid_id", "txid", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    txid: int = Field(sa_column=Column(BigInteger, nullable=False))
    entity: str = Field(max_length=30)
    key: str = Field(max_length=64)
    op: str = Field(max_length=8)  # "upsert" or "delete"
    # Set for an agency's private objects (reports and their items), else public.
    agency_id: int | None = None
    # The plan of a plan-scoped object (reports and items: their period's); None for agencies,
    # which every plan shares.
    plan_id: int | None = None
    at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class DataVersion(SQLModel, table=True):
    """One row whose version goes up when a transaction that changed public data commits.

    Deferred triggers on every table a public answer is built from bump it once per
    transaction at commit, so it becomes visible together with the data. The cache of
    public answers (app.core.public_cache) stores each answer under the version read before
    building it.
    """

    __tablename__ = "data_version"
    __table_args__ = (CheckConstraint("id", name="single_row"),)

    id: bool = Field(default=True, primary_key=True)
    version: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The transaction that bumped it last: a transaction bumps it only once.
    txid: int | None = Field(default=None, sa_column=Column(BigInteger))
