"""Keyset pagination with opaque cursors.

A cursor names the list it belongs to and the sort key of the last row served. It carries a
checksum so that a truncated, edited or made-up cursor is refused with 422 rather than
silently serving a wrong page; the checksum is not a secret and guards nothing else.
"""

import base64
import binascii
import hashlib
import json
from typing import Annotated

from fastapi import Query

from app.core.errors import InvalidCursorError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

LimitParam = Annotated[
    int,
    Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT}.", examples=[50]),
]
CursorParam = Annotated[
    str | None,
    Query(
        max_length=512,
        description="Opaque cursor from a previous page's next_cursor.",
    ),
]

SortKey = tuple[int, int]


def _checksum(payload: bytes) -> str:
    return hashlib.sha256(b"dxplan-cursor-v1:" + payload).hexdigest()[:12]


def encode_cursor(list_name: str, key: SortKey) -> str:
    payload = json.dumps({"l": list_name, "k": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _checksum(payload)


def decode_cursor(list_name: str, cursor: str | None, *, bound: int = 2**31) -> SortKey | None:
    """The sort key a cursor carries; each part must be below `bound` (int4 columns by
    default). 422 for anything this server did not issue for this list."""
    if cursor is None:
        return None
    body, _, checksum = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = json.loads(payload)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursorError() from exc
    if checksum != _checksum(payload) or not isinstance(data, dict) or data.get("l") != list_name:
        raise InvalidCursorError()
    key = data.get("k")
    if (
        not isinstance(key, list)
        or len(key) != 2
        or not all(type(part) is int and 0 <= part < bound for part in key)
    ):
        raise InvalidCursorError()
    return key[0], key[1]
