"""Conditional requests: strong ETags for versioned objects and If-Match checking."""

from app.core.errors import PreconditionFailedError, PreconditionRequiredError


def etag(kind: str, object_id: int, version: int) -> str:
    return f'"{kind}-{object_id}-v{version}"'


def check_if_match(if_match: str | None, current: str) -> None:
    """428 when If-Match is missing, 412 when no listed tag is the current one.

    If-Match uses strong comparison (RFC 9110 §13.1.1): a weak tag never matches. The
    current version matches as returned by a write (`"report-7-v3"`) or by a GET, which
    adds the answer's hash (`"report-7-v3-<hash>"`).
    """
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError()
    tags = [tag.strip() for tag in if_match.split(",")]
    # A GET's ETag is the version tag plus the hash of that answer (app.core.caching).
    if "*" in tags or any(tag == current or tag.startswith(current[:-1] + "-") for tag in tags):
        return
    raise PreconditionFailedError()
