"""Separated database roles and a hash chain over the audit log.

Roles. Migrations run as the owner (the login that runs them owns every table). The service
runs as the runtime role (``DXPLAN_DB_RUNTIME_ROLE``, default ``dxplan_app``), created here
NOLOGIN when missing: it may read and write the ordinary tables and use their sequences, but
on ``audit_log`` only SELECT and INSERT, on ``audit_chain`` and ``alembic_version`` only
SELECT; it owns nothing, so it can neither ALTER nor DISABLE TRIGGER anything. Default
privileges give it the same on tables later migrations create. The owner login is made a
member of it (when not a superuser) so that the service can log in as the owner and switch.
The role is cluster-wide and other databases may use it: downgrade revokes this database's
grants and never drops it.

Chain. A deferred constraint trigger appends one ``audit_chain`` link per audit row at
commit (see ``audit_chain_append`` below and ``app.services.audit_chain`` for the message);
existing rows are chained here, in id order.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 11:30:00+00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The transaction advisory lock that orders chain appends ('dx_audit' as a bigint; one-key
# locks never meet the two-key locks of app.services.attachments).
CHAIN_LOCK = 7239641273184053620

ORIGINAL_BUMP = """
CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger AS $$
BEGIN
    UPDATE data_version SET version = version + 1, txid = pg_current_xact_id()::text::bigint
    WHERE txid IS DISTINCT FROM pg_current_xact_id()::text::bigint;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""

# The bump and the chain both run at commit and both serialize committers. Each takes the
# chain lock first, so two committers never hold one and wait for the other (a deadlock
# whenever one transaction's audit row was queued before its data change and another's after).
LOCKED_BUMP = f"""
CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
    UPDATE data_version SET version = version + 1, txid = pg_current_xact_id()::text::bigint
    WHERE txid IS DISTINCT FROM pg_current_xact_id()::text::bigint;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def _functions(path: str) -> list[str]:
    """The chain's SQL; ``path`` pins name resolution (pg_catalog first, pg_temp last) so the
    SECURITY DEFINER function cannot be redirected by objects another role creates."""
    return [
        # A netstring: byte length, ':', the UTF-8 text, ','; NULL is '~'.
        f"""
        CREATE FUNCTION audit_chain_field(v text) RETURNS text
        LANGUAGE sql IMMUTABLE SET search_path = {path} AS $$
            SELECT CASE WHEN v IS NULL THEN '~'
                   ELSE octet_length(convert_to(v, 'UTF8'))::text || ':' || v || ',' END
        $$
        """,
        f"""
        CREATE FUNCTION audit_chain_message(seq bigint, r audit_log) RETURNS bytea
        LANGUAGE sql STABLE SET search_path = {path} AS $$
            SELECT convert_to('dxplan-audit-v1'
                || audit_chain_field(seq::text)
                || audit_chain_field(r.id::text)
                || audit_chain_field(
                    to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
                || audit_chain_field(r.actor_id::text)
                || audit_chain_field(r.action)
                || audit_chain_field(r.entity)
                || audit_chain_field(r.entity_id)
                || audit_chain_field(r.before::text)
                || audit_chain_field(r.after::text)
                || audit_chain_field(r.request_id), 'UTF8')
        $$
        """,
        # At commit: under the chain lock, read the head and append the link. The lock is
        # held from the first link a transaction appends until it has committed, so the
        # next committer reads this head (READ COMMITTED: each statement sees what has
        # committed before it started). SECURITY DEFINER: the runtime role may not write
        # audit_chain itself.
        f"""
        CREATE FUNCTION audit_chain_append() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {path} AS $$
        DECLARE
            head_seq bigint;
            head_hash bytea;
            prev bytea := decode(repeat('00', 32), 'hex');
            next_seq bigint := 1;
        BEGIN
            PERFORM pg_advisory_xact_lock({CHAIN_LOCK});
            SELECT seq, hash INTO head_seq, head_hash FROM audit_chain ORDER BY seq DESC LIMIT 1;
            IF FOUND THEN
                next_seq := head_seq + 1;
                prev := head_hash;
            END IF;
            INSERT INTO audit_chain (seq, audit_id, prev_hash, hash)
            VALUES (next_seq, NEW.id, prev, sha256(prev || audit_chain_message(next_seq, NEW)));
            RETURN NULL;
        END;
        $$
        """,
        """
        CREATE FUNCTION audit_chain_is_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_chain is append-only' USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
        """,
    ]


def _runtime_role() -> str:
    role = context.config.attributes.get("runtime_role")
    if not role:
        from app.core.config import get_settings

        role = get_settings().db_runtime_role
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise RuntimeError(f"invalid runtime role name {role!r}")
    return str(role)


def _ensure_role(role: str) -> None:
    """Create the runtime role if missing (parallel sessions may race: the loser's error is
    swallowed), refuse a role that could undo the separation, and let the owner switch to it."""
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                BEGIN
                    CREATE ROLE {role} NOLOGIN;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN
                    NULL;  -- created meanwhile by a concurrent migration
                END;
            END IF;
            IF '{role}' = current_user THEN
                RAISE EXCEPTION 'migrations run as the runtime role {role}'
                    USING HINT = 'run them as the owner: set DXPLAN_MIGRATION_DATABASE_URL';
            END IF;
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}' AND rolsuper)
               OR pg_has_role('{role}', current_user, 'MEMBER') THEN
                RAISE EXCEPTION 'the runtime role {role} is a superuser or a member of the owner';
            END IF;
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
               AND NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
                BEGIN
                    GRANT {role} TO CURRENT_USER;
                EXCEPTION WHEN insufficient_privilege THEN
                    RAISE WARNING 'cannot grant {role} to %: the service must log in as {role}'
                        ' (DATABASE_URL) or a member of it', current_user;
                END;
            END IF;
        END
        $$
        """
    )


def upgrade() -> None:
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    path = f'pg_catalog, "{schema}", pg_temp'
    role = _runtime_role()

    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("audit_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit_log.id"], name=op.f("fk_audit_chain_audit_id_audit_log")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_audit_chain_audit_id")),
    )
    for statement in _functions(path):
        op.execute(statement)
    op.execute(LOCKED_BUMP)
    # Chain what is there, with no audit row committing meanwhile.
    op.execute("LOCK TABLE audit_log IN EXCLUSIVE MODE")
    op.execute(
        """
        DO $$
        DECLARE
            r audit_log;
            n bigint := 0;
            prev bytea := decode(repeat('00', 32), 'hex');
            h bytea;
        BEGIN
            FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
                n := n + 1;
                h := sha256(prev || audit_chain_message(n, r));
                INSERT INTO audit_chain (seq, audit_id, prev_hash, hash) VALUES (n, r.id, prev, h);
                prev := h;
            END LOOP;
        END
        $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chain_append()"
    )
    op.execute(
        "CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
        " ON audit_chain FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_is_append_only()"
    )

    _ensure_role(role)
    s = f'"{schema}"'
    for statement in (
        f"GRANT USAGE ON SCHEMA {s} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON audit_log, audit_chain, alembic_version FROM {role}",
        f"GRANT INSERT ON audit_log TO {role}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s}"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE ON SEQUENCES TO {role}",
    ):
        op.execute(statement)


def downgrade() -> None:
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    role = _runtime_role()
    s = f'"{schema}"'
    exists = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
    )
    if exists.scalar() is not None:
        for statement in (
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} REVOKE ALL ON SEQUENCES FROM {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} REVOKE ALL ON TABLES FROM {role}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {role}",
            f"REVOKE USAGE ON SCHEMA {s} FROM {role}",
        ):
            op.execute(statement)
    op.execute("DROP TRIGGER audit_chain_append_only ON audit_chain")
    op.execute("DROP TRIGGER audit_log_chain ON audit_log")
    op.execute(ORIGINAL_BUMP)
    op.execute("DROP FUNCTION audit_chain_is_append_only()")
    op.execute("DROP FUNCTION audit_chain_append()")
    op.execute("DROP FUNCTION audit_chain_message(bigint, audit_log)")
    op.execute("DROP FUNCTION audit_chain_field(text)")
    op.drop_table("audit_chain")
