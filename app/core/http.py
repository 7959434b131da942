"""Conditional requests: strong ETags for versioned objects and If-Match checking.

ETags are opaque to clients: send back exactly what a GET or a write answered. What the
server issues (never to be parsed by clients, and free to change):

- a write answers the object's version tag, `"<kind>-<id>-v<version>"`;
- a GET answers that tag plus a hash of the representation sent (app.core.caching), and
  `-gzip` when compressed: `"<kind>-<id>-v<version>-<16 hex>"`.

Each versioned object moves its version with every change to what it shows (a report
with its items, evidence files and conversation: app.services.reports.touch). If-Match
compares strongly (RFC 9110 §13.1.1): a weak tag never matches, and a tag matches when it
names this object at its current version and is one of the forms above. The hash only
tells representations of one version apart (language, `fields=`, compression), so every
tag issued for the current version matches, and any tag of an older version is stale.
"""

import re
from dataclasses import dataclass

from fastapi import Response
from pydantic import BaseModel

from app.core.errors import PreconditionFailedError, PreconditionRequiredError
from app.core.json import dumps

_TAG = re.compile(r'"(?P<object>[a-z_]+-\d+)-v(?P<version>\d+)(?:-[0-9a-f]{16})?(?:-gzip)?"')


def etag(kind: str, object_id: int, version: int) -> str:
    return f'"{kind}-{object_id}-v{version}"'


@dataclass(frozen=True)
class _Parsed:
    object: str
    version: int


def _parse(tag: str) -> _Parsed | None:
    found = _TAG.fullmatch(tag.strip())
    if found is None:
        return None
    return _Parsed(found["object"], int(found["version"]))


def check_if_match(if_match: str | None, current: str) -> None:
    """428 when If-Match is missing; 412 when no listed tag names the current version.

    The 412 says which version the caller had (`seen_version`, when one of their tags names
    this object at all) and which is current (`current_version`).
    """
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError()
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return
    now = _parse(current)
    assert now is not None, current  # the server's own tag
    seen = [p for p in map(_parse, tags) if p is not None and p.object == now.object]
    if any(p.version == now.version for p in seen):
        return
    raise PreconditionFailedError.stale(max((p.version for p in seen), default=None), now.version)


def model_response(status: int, model: BaseModel, headers: dict[str, str]) -> Response:
    """A JSON answer whose status is decided by the route (201 created, 200 found...)."""
    return Response(
        dumps(model.model_dump(mode="json")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )
