"""The audit hash chain: what each link commits to, and the walk that checks it.

Design. Every audit row gets one link in ``audit_chain`` (seq, audit_id, prev_hash, hash),
appended by a deferred constraint trigger when its transaction commits (migration 0011):

    hash = SHA-256(prev_hash || message(seq, row)),  prev_hash of seq 1 = 32 zero bytes

- One total order, no forks: the trigger takes one transaction advisory lock, reads the
  head, appends. The lock is held until the commit is done, so the next committer reads the
  new head; the primary key on ``seq`` would refuse a fork anyway.
- Short serialization: the lock is taken at commit, not when the row is written, so
  concurrent requests run in parallel and only queue for the append and their commit
  record (the ``data_version`` bump already queued public writes there; it takes the same
  lock first, so the two never deadlock). Measured on the shared 2-core test machine, 50
  parallel comments through HTTP (each one audit row, in-process app, pool of 40): median
  0.43 s for the burst with the chain, 0.33 s with its trigger disabled; the chain stays
  valid (``tests/services/test_audit_chain.py`` checks 20 parallel comments).
- The runtime role cannot write the chain (SECURITY DEFINER function, SELECT-only grant)
  nor alter, update or delete audit rows; the owner can, and ``verify`` finds it unless
  the whole tail was rewritten consistently: keep the printed head outside the database.

The message (version 1) is the UTF-8 bytes of ``dxplan-audit-v1`` followed by one netstring
per field, in this order: seq, id, at, actor_id, action, entity, entity_id, before, after,
request_id. A netstring is the byte length of the field's text in decimal, ``:``, the text,
``,``; SQL NULL is ``~``. Texts: integers in decimal; ``at`` in UTC as
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (so only finite times of years 1 to 9999 AD can be
rendered); strings as stored; ``before``/``after`` as PostgreSQL renders jsonb as text (its
canonical form: keys ordered and de-duplicated, ``", "`` and ``": "`` separators).

``verify`` builds the message here in Python, never through the database's chain functions,
which an owner could replace. It reads every field as text, ``at`` rendered by
``pg_catalog.to_char`` (schema-qualified: no object an owner creates can stand in for it;
the trigger's pinned search_path resolves the same function), so no row content can fail to
decode (a timestamp outside Python's range did: OverflowError). A row whose ``at`` has no
v1 rendering (infinity: to_char gives NULL; year 10000; a BC year, which to_char prints like
the AD one) is reported as a broken link, whatever its stored hash says. Since migration
0014 a trigger stamps every new row with its transaction's time, so only an owner who
disabled it can write such a row.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

GENESIS = bytes(32)
MESSAGE_PREFIX = b"dxplan-audit-v1"
_BATCH = 2000

_LINKS = text(
    """
    SELECT c.seq, c.audit_id, c.prev_hash, c.hash, a.id,
           pg_catalog.to_char(pg_catalog.timezone('UTC', a.at),
                              'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           a.actor_id, a.action, a.entity, a.entity_id, a.before::text, a.after::text,
           a.request_id,
           pg_catalog.to_char(pg_catalog.timezone('UTC', a.at), 'BC'), a.at::text
    FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id
    WHERE c.seq > :after ORDER BY c.seq LIMIT :limit
    """
)
# The columns of a _LINKS row that make the message (audit id to request id).
_MESSAGE = slice(4, 13)
# The only shape message v1 gives ``at``: four-digit years, microseconds, UTC.
_AT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_UNCHAINED = text(
    "SELECT a.id FROM audit_log a WHERE NOT EXISTS "
    "(SELECT FROM audit_chain c WHERE c.audit_id = a.id) ORDER BY a.id LIMIT 1"
)


def _field(value: str | None) -> bytes:
    if value is None:
        return b"~"
    data = value.encode("utf-8")
    return str(len(data)).encode() + b":" + data + b","


def message(
    seq: int,
    audit_id: int,
    at: str,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: str,
    before: str | None,
    after: str | None,
    request_id: str | None,
) -> bytes:
    """The canonical bytes of one audit row at position ``seq``: ``at`` already rendered
    (``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC), jsonb fields as text."""
    fields = (
        str(seq),
        str(audit_id),
        at,
        None if actor_id is None else str(actor_id),
        action,
        entity,
        entity_id,
        before,
        after,
        request_id,
    )
    return MESSAGE_PREFIX + b"".join(_field(f) for f in fields)


def link_hash(prev_hash: bytes, body: bytes) -> bytes:
    return hashlib.sha256(prev_hash + body).digest()


@dataclass(frozen=True)
class ChainReport:
    """The walk's outcome: links verified before the first break, and that break if any."""

    verified: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    broken_audit_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, object]:
        if self.ok:
            return {
                "verified": self.verified,
                "head": {"seq": self.head_seq, "hash": self.head_hash},
            }
        return {
            "verified": self.verified,
            "broken": {
                "seq": self.broken_seq,
                "audit_id": self.broken_audit_id,
                "problem": self.problem,
            },
        }


async def verify_chain(connection: AsyncConnection, *, batch: int = _BATCH) -> ChainReport:
    """Walk the chain in seq order and recompute every link; stop at the first break.

    Reads in keyset batches; run it in one REPEATABLE READ transaction for a consistent
    snapshot (``dxplan audit verify`` does). Finally, every audit row must have a link.
    """
    seq, head = 0, GENESIS
    while True:
        rows = (await connection.execute(_LINKS, {"after": seq, "limit": batch})).all()
        for row in rows:
            problem = _check(seq, head, tuple(row))
            if problem is not None:
                return ChainReport(seq, seq, head.hex(), row[0], row[1], problem)
            seq, head = row[0], bytes(row[3])
        if len(rows) < batch:
            break
    unchained = (await connection.execute(_UNCHAINED)).scalar()
    if unchained is not None:
        return ChainReport(
            seq, seq, head.hex(), None, unchained, f"audit row {unchained} has no link"
        )
    return ChainReport(seq, seq, head.hex())


def _check(seq: int, head: bytes, row: tuple[Any, ...]) -> str | None:
    """What is wrong with the link after ``seq`` (whose hash is ``head``), or None."""
    link_seq, audit_id, prev_hash, stored = row[0], row[1], bytes(row[2]), bytes(row[3])
    if link_seq != seq + 1:
        return f"link {seq + 1} is missing (next link is {link_seq})"
    if prev_hash != head:
        return f"prev_hash {prev_hash.hex()} differs from link {seq}'s hash {head.hex()}"
    if row[4] is None:
        return f"audit row {audit_id} is missing (deleted)"
    at, era, shown = row[5], row[13], row[14]
    if at is None or era != "AD" or not _AT.fullmatch(at):
        return (
            f"audit row {audit_id}'s time {shown} cannot be rendered in message v1 (finite, "
            "years 1 to 9999 AD): not the time the database stamps, so forged"
        )
    computed = link_hash(prev_hash, message(link_seq, *row[_MESSAGE]))
    if computed != stored:
        return (
            f"audit row {audit_id}'s content does not match its link (stored hash "
            f"{stored.hex()}, recomputed {computed.hex()}): a field was changed"
        )
    return None
