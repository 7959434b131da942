"""One exception hierarchy and one renderer: every error leaves as RFC 9457 problem details."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Scope, Send

from app.core.i18n import Lang, negotiate, translate
from app.core.json import dumps
from app.schemas.problems import Problem

logger = logging.getLogger("app.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"


class AppError(Exception):
    """A failure with a stable code; its message is rendered per request language."""

    status: int = 500
    code: str = "internal_error"
    detail_key: str | None = None
    # The token endpoint's errors also carry RFC 6749 §5.2's `error` member (= `code`), so
    # standard OAuth2 clients read them.
    oauth2: bool = False

    def __init__(self, detail_key: str | None = None, **params: Any) -> None:
        super().__init__(detail_key or self.code)
        if detail_key is not None:
            self.detail_key = detail_key
        self.params = params
        self.headers: dict[str, str] = {}
        # Extra members of the problem (RFC 9457 §3.2), e.g. the versions of a 412.
        self.extensions: dict[str, Any] = {}

    def problem_errors(self, lang: Lang) -> list[dict[str, Any]] | None:
        """The problem's per-field `errors` member, if it has one."""
        return None

    def detail(self, lang: Lang) -> str | None:
        if self.detail_key is None:
            return None
        params = dict(self.params)
        entity = params.get("entity")
        if isinstance(entity, str):
            params["entity"] = translate(f"entity.{entity}", lang)
        return translate(self.detail_key, lang, **params)


class NotFoundError(AppError):
    status = 404
    code = "not_found"

    def __init__(self, entity: str, key: object) -> None:
        super().__init__("not_found.entity", entity=entity, key=key)


class PlanNotFoundError(NotFoundError):
    """The `plan` asked for is none this service holds (a code of its own, so a client can
    tell an unknown plan from an unknown object of a known one)."""

    code = "plan_not_found"

    def __init__(self, key: object) -> None:
        AppError.__init__(self, "plan_not_found.detail", key=key)


class InvalidCursorError(AppError):
    status = 422
    code = "invalid_cursor"
    detail_key = "invalid_cursor.detail"


class UnknownFilterValueError(AppError):
    status = 422
    code = "unknown_filter_value"

    def __init__(self, field: str, value: object) -> None:
        super().__init__("unknown_filter_value.detail", field=field, value=value)


class ServiceUnavailableError(AppError):
    status = 503
    code = "service_unavailable"


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database cannot be reached, or gave no connection in time. Rendered by
    app.core.outage (503 with Retry-After, logged once per outage); ``reason`` names the
    underlying failure for the log, never for the client."""

    code = "database_unavailable"
    detail_key = "database_unavailable.detail"

    def __init__(self, reason: str = "") -> None:
        super().__init__()
        self.reason = reason

    def __str__(self) -> str:
        return f"database unavailable: {self.reason}" if self.reason else "database unavailable"

    @classmethod
    def retry_after(cls, seconds: int) -> "DatabaseUnavailableError":
        """The client's answer: retry in `seconds`; never kept by a cache."""
        error = cls()
        error.params = {"seconds": seconds}
        error.headers.update({"Retry-After": str(seconds), "Cache-Control": "no-store"})
        return error


class ServerBusyError(ServiceUnavailableError):
    """Past the server's concurrency limit (app.core.serving), before the app runs."""

    code = "server_busy"

    def __init__(self, seconds: int) -> None:
        super().__init__("server_busy.detail", seconds=seconds)
        self.headers["Retry-After"] = str(seconds)


class UnauthorizedError(AppError):
    """Missing, malformed, expired or revoked credentials: 401 with a Bearer challenge."""

    status = 401
    code = "unauthorized"

    def __init__(self, detail_key: str = "unauthorized.missing", *, invalid: bool = False):
        super().__init__(detail_key)
        self.headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if invalid else 'Bearer realm="dxplan"'
        )


class InvalidGrantError(AppError):
    """RFC 6749 §5.2: wrong username or password, or an invalid, expired, revoked or reused
    refresh token, at the token endpoint."""

    status = 400
    code = "invalid_grant"
    detail_key = "invalid_grant.detail"
    oauth2 = True


class AgencyEndedError(AppError):
    """A sign-in or refresh of a user whose agency has ended (a reorganisation ended it
    before today; app.services.ended_agencies): at the token endpoint 400 with RFC 6749
    §5.2's `error` `invalid_grant`, what a standard client knows, beside the own `code`."""

    status = 400
    code = "agency_ended"

    def __init__(self, detail_key: str, **params: Any) -> None:
        super().__init__(detail_key, **params)
        self.extensions = {"error": "invalid_grant"}


class AgencyEndedUnauthorizedError(AgencyEndedError):
    """The same refusal at `/auth/refresh`, which answers 401 for every refused token."""

    status = 401

    def __init__(self, detail_key: str, **params: Any) -> None:
        super().__init__(detail_key, **params)
        self.extensions = {}
        self.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'


class UnsupportedGrantTypeError(AppError):
    """RFC 6749 §5.2: a `grant_type` the token endpoint does not serve."""

    status = 400
    code = "unsupported_grant_type"
    detail_key = "unsupported_grant_type.detail"
    oauth2 = True


class ForbiddenError(AppError):
    status = 403
    code = "forbidden"
    detail_key = "forbidden.detail"


class TooManyRequestsError(AppError):
    status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__("too_many_requests.detail", seconds=retry_after)
        self.headers["Retry-After"] = str(retry_after)


class ConflictError(AppError):
    status = 409
    code = "conflict"


class PreconditionFailedError(AppError):
    status = 412
    code = "precondition_failed"
    detail_key = "precondition_failed.detail"

    @classmethod
    def stale(cls, seen: int | None, current: int) -> "PreconditionFailedError":
        """The If-Match named version `seen` of the object (None: no tag named this object
        at all) while `current` is stored; both go in the problem for the client."""
        key = "precondition_failed.stale" if seen is not None else "precondition_failed.foreign"
        error = cls(key, seen=seen, current=current)
        error.extensions = {"seen_version": seen, "current_version": current}
        return error


class PreconditionRequiredError(AppError):
    status = 428
    code = "precondition_required"
    detail_key = "precondition_required.detail"


class RequestTimeoutError(AppError):
    """No byte of the request body arrived for the body timeout (app.core.body_limit). The
    connection is closed after the answer (RFC 9110 §15.5.9): the rest of the body, if it
    ever comes, would be read as a new request."""

    status = 408
    code = "request_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__("request_timeout.detail", seconds=f"{seconds:g}")
        self.headers["Connection"] = "close"


class UnsupportedMediaTypeError(AppError):
    """A body in a media type or character encoding the route does not read (app.core.
    hygiene): refused before anything parses it."""

    status = 415
    code = "unsupported_media_type"

    def __init__(self, reason: str) -> None:
        super().__init__(f"unsupported_media_type.{reason}")


class PayloadTooLargeError(AppError):
    """A request body (an upload or any other) past its configured size limit; reading
    stops as soon as it is exceeded."""

    status = 413
    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        size = f"{limit} B"
        for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
            if limit % factor == 0:
                size = f"{limit // factor} {unit}"
                break
        super().__init__("payload_too_large.detail", limit=size)


class MalformedRequestError(AppError):
    """A body that cannot be parsed (a broken multipart stream, for one)."""

    status = 400
    code = "malformed_request"
    detail_key = "malformed_request.detail"


class FieldValidationError(AppError):
    """A body that parses but breaks a domain rule, reported per field like a 422."""

    status = 422
    code = "validation_error"
    detail_key = "validation_error.detail"

    def __init__(
        self, field_errors: list[tuple[str, str]], location: str = "body", **params: object
    ) -> None:
        super().__init__()
        self.field_errors = [(location, field, rule) for field, rule in field_errors]
        self.params = params  # for the messages' placeholders

    def problem_errors(self, lang: Lang) -> list[dict[str, Any]]:
        return [
            {
                "loc": [where, field],
                "field": field,
                "type": rule,
                "message": translate(f"field.{rule}", lang, **self.params),
            }
            for where, field, rule in self.field_errors
        ]


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str | None,
    lang: Lang,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    oauth2: bool = False,
    extensions: dict[str, Any] | None = None,
) -> Response:
    problem = Problem(
        type=f"urn:dxplan:problem:{code}",
        title=translate(code, lang),
        status=status,
        detail=detail,
        instance=request.url.path,
        code=code,
        request_id=request_id_of(request),
        errors=errors,
        error=code if oauth2 else None,
    )
    body = dumps({**problem.model_dump(exclude_none=True), **(extensions or {})})
    all_headers = {"Content-Language": lang, "Vary": "Accept-Language", **(headers or {})}
    return Response(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=all_headers)


def error_response(request: Request, exc: AppError) -> Response:
    """The problem for an AppError, in the language the request asks for: the one way an
    error is rendered, by the handlers inside the app and the ASGI layers outside it."""
    lang = negotiate(request.headers.get("accept-language"))
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        detail=exc.detail(lang),
        lang=lang,
        headers=exc.headers,
        errors=exc.problem_errors(lang),
        oauth2=exc.oauth2,
        extensions=exc.extensions,
    )


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


async def send_problem(scope: Scope, send: Send, exc: AppError) -> None:
    """Answer with `exc`'s problem from an ASGI layer (outside the app's handlers). Nothing
    of the request body is read."""
    await error_response(Request(scope, _no_body), exc)(scope, _no_body, send)


def _field_errors(exc: RequestValidationError, lang: Lang) -> list[dict[str, Any]]:
    result = []
    for error in exc.errors():
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        error_type = str(error.get("type", "invalid"))
        ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, str | int)}
        key = f"field.{error_type}" if f"field.{error_type}" in _KNOWN_FIELD_KEYS else None
        message = translate(key, lang, **ctx) if key else str(error.get("msg", ""))
        if key is None and lang == "vi":
            message = translate("field.invalid", lang) + f" ({message})"
        field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
        result.append({"loc": loc, "field": field, "type": error_type, "message": message})
    return result


_KNOWN_FIELD_KEYS = {
    "field.extra_forbidden",
    "field.missing",
    "field.int_parsing",
    "field.date_parsing",
    "field.greater_than_equal",
    "field.less_than_equal",
    "field.string_too_short",
    "field.string_too_long",
    "field.string_pattern_mismatch",
    "field.literal_error",
    "field.enum",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        lang = negotiate(request.headers.get("accept-language"))
        return problem_response(
            request,
            status=422,
            code="validation_error",
            detail=translate("validation_error.detail", lang),
            lang=lang,
            errors=_field_errors(exc, lang),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        lang = negotiate(request.headers.get("accept-language"))
        if exc.status_code == 404:
            code, detail = "not_found", translate("not_found.route", lang)
        elif exc.status_code == 405:
            code = "method_not_allowed"
            detail = translate("method_not_allowed.detail", lang, method=request.method)
        elif exc.status_code == 400:
            code, detail = "malformed_request", translate("malformed_request.detail", lang)
        else:
            code, detail = "http_error", str(exc.detail)
        return problem_response(
            request,
            status=exc.status_code,
            code=code,
            detail=detail,
            lang=lang,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error", exc_info=exc)
        lang = negotiate(request.headers.get("accept-language"))
        detail = translate("internal_error.detail", lang, request_id=request_id_of(request))
        return problem_response(
            request, status=500, code="internal_error", detail=detail, lang=lang
        )
