"""Read model of indicator series: per target, level, district and year, the latest value.

``indicator_value_yearly``: per indicator target, scope (level, district: '' and 0 for
none) and year of ``as_of``, the approved value that is the newest by (as_of, id), and
whether the group holds more than that one (``more``). It is the bounded ``series`` that
indicator answers embed (app/services/history.py), read as one index range per target instead
of a skip scan of ``indicator_values`` (about two index probes per group and a join to
reports for each: most of the database time of ``GET /indicators``).

Kept by the triggers of migration 0017, at commit, in the same transactions and under the
same chain lock as ``indicator_value_latest``: 0017's two functions that write that table
are kept under new names and wrapped by functions of their old names that also write this
one (PL/pgSQL resolves the names when it runs, so every trigger, ``rebuild_read_models()``
and ``dxplan rebuild-read-models`` reach the wrappers). An approval adds the report's items
group by group (no recomputation of a target's history); any other change recomputes the
targets it touches.

Numbered 0023 as planned for this round; it landed after 0024 (migration
2026-11-30-2100), so it revises that one.

Revision ID: 0023
Revises: 0024
Create Date: 2026-11-30 22:00:00+00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0023"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GROUP = (
    "v.target_id, coalesce(v.level, ''), coalesce(v.district_agency_id, 0),"
    " extract(year FROM v.as_of)::int"
)
COLUMNS = (
    "target_id, place_level, place_district, year, indicator_value_id, level,"
    " district_agency_id, value, achieved, as_of, provenance, source, period_id, more"
)
# Per group of the approved values chosen by `where`, the newest, and how many there are.
NEWEST = f"""
    SELECT DISTINCT ON ({GROUP}) v.target_id, coalesce(v.level, '') AS place_level,
        coalesce(v.district_agency_id, 0) AS place_district,
        extract(year FROM v.as_of)::int AS year, v.id AS indicator_value_id, v.level,
        v.district_agency_id, v.value, v.achieved, v.as_of, v.provenance, v.source,
        r.period_id, count(*) OVER (PARTITION BY {GROUP}) AS n
    FROM indicator_values v
    JOIN reports r ON r.id = v.report_id
    WHERE {{where}} AND r.state = 'approved' AND v.review_state IS NULL
    ORDER BY {GROUP}, v.as_of DESC, v.id DESC
"""
KEPT = (
    "indicator_value_id",
    "level",
    "district_agency_id",
    "value",
    "achieved",
    "as_of",
    "provenance",
    "source",
    "period_id",
)
# The rows of NEWEST as the table's columns.
CHOSEN = ", ".join(f"c.{c.strip()}" for c in COLUMNS.split(",")[:-1]) + ", c.n > 1"
_NEWER = "(excluded.as_of, excluded.indicator_value_id) > (y.as_of, y.indicator_value_id)"

FUNCTIONS = [
    f"""
    CREATE FUNCTION refresh_indicator_value_yearly(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM indicator_value_yearly WHERE target_id = ANY(ids);
        INSERT INTO indicator_value_yearly ({COLUMNS})
        SELECT {CHOSEN} FROM ({NEWEST.format(where="v.target_id = ANY(ids)")}) c;
    END;
    $$
    """,
    # An approval: the report's items were not public before it. Each group of them is
    # added, or merged into the group's row (the newer value kept; it holds more than one).
    f"""
    CREATE FUNCTION read_models_add_report_yearly(report bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO indicator_value_yearly AS y ({COLUMNS})
        SELECT {CHOSEN} FROM ({NEWEST.format(where="v.report_id = report")}) c
        ON CONFLICT (target_id, place_level, place_district, year) DO UPDATE SET more = true,
            {", ".join(f"{c} = CASE WHEN {_NEWER} THEN excluded.{c} ELSE y.{c} END" for c in KEPT)};
    END;
    $$
    """,
    "ALTER FUNCTION refresh_indicator_value_latest(bigint[])"
    " RENAME TO refresh_indicator_value_latest_0017",
    """
    CREATE FUNCTION refresh_indicator_value_latest(ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM refresh_indicator_value_latest_0017(ids);  -- takes the chain lock
        PERFORM refresh_indicator_value_yearly(ids);
    END;
    $$
    """,
    "ALTER FUNCTION read_models_add_report(bigint) RENAME TO read_models_add_report_0017",
    """
    CREATE FUNCTION read_models_add_report(report bigint) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM read_models_add_report_0017(report);  -- takes the chain lock
        PERFORM read_models_add_report_yearly(report);
    END;
    $$
    """,
]


def _runtime_role() -> str:
    """As in migration 0011: the Alembic config's ``runtime_role``, else the settings'."""
    role = context.config.attributes.get("runtime_role")
    if not role:
        from app.core.config import get_settings

        role = get_settings().db_runtime_role
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise RuntimeError(f"invalid runtime role name {role!r}")
    return str(role)


def upgrade() -> None:
    op.create_table(
        "indicator_value_yearly",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("place_level", sa.String(length=10), nullable=False),
        sa.Column("place_district", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("indicator_value_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=True),
        sa.Column("district_agency_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Numeric(16, 4), nullable=True),
        sa.Column("achieved", sa.Boolean(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("provenance", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("more", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "target_id",
            "place_level",
            "place_district",
            "year",
            name=op.f("pk_indicator_value_yearly"),
        ),
    )
    for sql in FUNCTIONS:
        op.execute(sql)
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON indicator_value_yearly TO {_runtime_role()}"
    )
    op.execute("SELECT refresh_indicator_value_yearly(ARRAY(SELECT id FROM indicator_targets))")


def downgrade() -> None:
    op.execute("DROP FUNCTION read_models_add_report(bigint)")
    op.execute(
        "ALTER FUNCTION read_models_add_report_0017(bigint) RENAME TO read_models_add_report"
    )
    op.execute("DROP FUNCTION refresh_indicator_value_latest(bigint[])")
    op.execute(
        "ALTER FUNCTION refresh_indicator_value_latest_0017(bigint[])"
        " RENAME TO refresh_indicator_value_latest"
    )
    op.execute("DROP FUNCTION read_models_add_report_yearly(bigint)")
    op.execute("DROP FUNCTION refresh_indicator_value_yearly(bigint[])")
    op.drop_table("indicator_value_yearly")
