"""Tokens: the OAuth2 token endpoint (password and refresh_token grants), revocation
(RFC 7009), and the JSON doors kept beside them (`/auth/refresh`, `/auth/logout`)."""

from typing import Annotated

from fastapi import APIRouter, Body, Form, Request, Response, status
from fastapi.security.utils import get_authorization_scheme_param

from app.core.dependencies import constructed
from app.core.errors import FieldValidationError, UnsupportedGrantTypeError
from app.core.openapi import problems
from app.core.proxies import client_address
from app.deps import SessionDep, SettingsDep, Today, get_current_user
from app.schemas.auth import RefreshRequest, TokenPair
from app.services import auth as service

router = APIRouter(prefix="/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM = "application/x-www-form-urlencoded"
_REFRESH = RefreshRequest.model_fields["refresh_token"].examples or [""]
# The scheme FastAPI names after OAuth2PasswordBearer (app.deps.oauth2_scheme).
_BEARER = "OAuth2PasswordBearer"


class TokenForm:
    """The token endpoint's form (RFC 6749 §4.3.2 and §6). `grant_type` is checked by the
    route, not by validation, so an unknown one is RFC 6749's 400 `unsupported_grant_type`
    rather than a 422; the fields a grant needs are checked per grant (422 when missing).
    `scope`, `client_id` and `client_secret` are accepted and ignored (there are no client
    registrations), as standard clients and the `/docs` Authorize dialog may send them."""

    def __init__(
        self,
        grant_type: Annotated[
            str | None,
            Form(
                max_length=100,
                description="`password` (the default when omitted) or `refresh_token`.",
                examples=["password"],
            ),
        ] = None,
        username: Annotated[str | None, Form(description="Password grant: the username.")] = None,
        password: Annotated[
            str | None,
            Form(
                description="Password grant: the password.",
                json_schema_extra={"format": "password"},
            ),
        ] = None,
        refresh_token: Annotated[
            str | None,
            Form(max_length=200, description="refresh_token grant: the refresh token."),
        ] = None,
        scope: Annotated[str, Form(description="Ignored.")] = "",
        client_id: Annotated[str | None, Form(description="Ignored.")] = None,
        client_secret: Annotated[
            str | None, Form(description="Ignored.", json_schema_extra={"format": "password"})
        ] = None,
    ) -> None:
        self.grant_type = grant_type or "password"
        self.username = username
        self.password = password
        self.refresh_token = refresh_token
        self.scope, self.client_id, self.client_secret = scope, client_id, client_secret


@router.post(
    "/token",
    operation_id="auth-token",
    summary="Sign in, or refresh",
    responses=problems(400, 422, 429),
    # The form is not a pydantic model: its examples are given here.
    openapi_extra={
        "requestBody": {
            "content": {
                FORM: {
                    "examples": {
                        "password": {
                            "summary": "Sign in (password grant)",
                            "value": {
                                "grant_type": "password",
                                "username": "nguyen.van.a",
                                "password": "Mat-khau-tam-2026",
                            },
                        },
                        "refresh_token": {
                            "summary": "Rotate a refresh token (refresh_token grant)",
                            "value": {"grant_type": "refresh_token", "refresh_token": _REFRESH[0]},
                        },
                    }
                }
            }
        }
    },
)
async def token(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    today: Today,
    form: Annotated[TokenForm, constructed(TokenForm)],
) -> TokenPair:
    """The OAuth2 token endpoint; the answer is RFC 6749 §5.1's, with `Cache-Control:
    no-store`.

    - `grant_type=password` (or no `grant_type`), with `username` and `password`: sign in.
      Returns a 15-minute access token (JWT) and a 30-day single-use refresh token. Wrong
      credentials answer 400 `invalid_grant`; after repeated failures for a username or
      from an address, 429 with `Retry-After` until the back-off passes (the password is
      then not checked at all, so even the right one is refused). The address is the TCP
      peer's, or the client named in `X-Forwarded-For` by a proxy listed in
      `DXPLAN_TRUSTED_PROXIES`.
    - `grant_type=refresh_token` with `refresh_token` (RFC 6749 §6): the same rotation as
      `POST /auth/refresh` (each refresh token works once; presenting a used one again ends
      its whole sign-in), refused with 400 `invalid_grant` instead of 401.
    - Any other `grant_type`: 400 `unsupported_grant_type`.
    - A user whose agency has ended (a reorganisation ended it before today; see
      `GET /agencies/{code}`, `valid_to`) is refused at both grants with 400 `agency_ended`
      (`error` `invalid_grant`), naming the agency's successors, until an administrator
      moves the account (`DXPLAN_REFUSE_ENDED_AGENCIES`, on by default).

    OAuth2 errors carry RFC 6749 §5.2's `error` member (the same as `code`) in the problem
    details; a field the grant needs and lacks is a 422 `validation_error`."""
    response.headers.update(NO_STORE)
    if form.grant_type == "refresh_token":
        if not form.refresh_token:
            raise FieldValidationError([("refresh_token", "missing")])
        return await service.refresh(
            session,
            token=form.refresh_token,
            key=request.app.state.signing_key,
            settings=settings,
            oauth2=True,
            today=today,
        )
    if form.grant_type != "password":
        raise UnsupportedGrantTypeError()
    missing = [name for name in ("username", "password") if not getattr(form, name)]
    if missing or form.username is None or form.password is None:
        raise FieldValidationError([(name, "missing") for name in missing])
    return await service.sign_in(
        session,
        username=form.username,
        password=form.password,
        address=client_address(request),
        key=request.app.state.signing_key,
        settings=settings,
        today=today,
    )


@router.post(
    "/refresh",
    operation_id="auth-refresh",
    summary="Rotate the refresh token (JSON)",
    responses=problems(400, 401, 422),
)
async def refresh(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    today: Today,
    body: RefreshRequest,
) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once: presenting a
    used one again revokes every token descended from the same sign-in. The JSON twin of
    `POST /auth/token` with `grant_type=refresh_token` (which answers 400 `invalid_grant`
    where this answers 401); both stay. A user whose agency has ended is refused with 401
    `agency_ended`."""
    response.headers.update(NO_STORE)
    return await service.refresh(
        session,
        token=body.refresh_token,
        key=request.app.state.signing_key,
        settings=settings,
        today=today,
    )


@router.post(
    "/revoke",
    operation_id="auth-revoke",
    summary="Revoke a token (sign out)",
    response_class=Response,
    responses={
        200: {"description": "Revoked, or nothing to revoke: the same empty answer."},
        **problems(422),
    },
    openapi_extra={
        "requestBody": {
            "content": {
                FORM: {"example": {"token": _REFRESH[0], "token_type_hint": "refresh_token"}}
            }
        }
    },
)
async def revoke(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[
        str,
        Form(
            min_length=1,
            max_length=4000,
            description="The refresh token or access token to revoke.",
        ),
    ],
    token_type_hint: Annotated[
        str | None,
        Form(
            max_length=100,
            description="`refresh_token` or `access_token`; optional, and only a hint: the "
            "token is found whatever its type, and an unknown hint is ignored.",
            examples=["refresh_token"],
        ),
    ] = None,
) -> Response:
    """Token revocation in the shape of RFC 7009: sign out with nothing but the token. A
    refresh token ends its whole sign-in (the family of refresh tokens rotated from it and
    their access tokens); a valid access token ends the sign-in it names (claim `sid`), its
    refresh token included. Refused from the next request on, on every server. The answer
    is 200 with an empty body for any token, valid, already revoked, expired or unknown
    (RFC 7009 §2.2), so it tells nothing about the token. No client authentication: there
    are no client registrations, and holding the token is what allows ending it."""
    del token_type_hint  # RFC 7009 §2.1: a hint; the token's form tells its type
    await service.revoke(session, token=token, key=request.app.state.signing_key, settings=settings)
    return Response(status_code=status.HTTP_200_OK, headers=NO_STORE)


@router.post(
    "/logout",
    operation_id="auth-logout",
    summary="Sign out",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 401, 422),
    # The token is read by the route itself (below), so it is stated here: optional.
    openapi_extra={"security": [{}, {_BEARER: []}]},
)
async def logout(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[RefreshRequest | None, Body()] = None,
) -> None:
    """Ends a sign-in, its access tokens included (refused from the next request on, on
    every server). The token is optional when a body is sent:
    - with no body, the caller's own sign-in: the one of the access token in
      `Authorization` (401 without a valid one);
    - with the JSON body `{"refresh_token": …}` (the older form, kept), the sign-in of that
      refresh token, whatever the `Authorization` header says (an app whose access token
      has expired can still sign out); an unknown refresh token changes nothing. 204.

    `POST /auth/revoke` does the same in RFC 7009's shape."""
    if body is not None:
        await service.sign_out(session, token=body.refresh_token)
        return
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    bearer = token if scheme.lower() == "bearer" and token else None
    user = await get_current_user(request, session, settings, bearer)
    owner = service.access_token_session(
        bearer or "", key=request.app.state.signing_key, settings=settings
    )
    if owner is not None and owner[0] == user.id:
        await service.end_sign_in(session, user_id=owner[0], session_id=owner[1])
