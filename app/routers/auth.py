"""Tokens: OAuth2 password grant, refresh rotation, logout."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.core.openapi import problems
from app.core.proxies import client_address
from app.deps import SessionDep, SettingsDep
from app.schemas.auth import RefreshRequest, TokenPair
from app.services import auth as service

router = APIRouter(prefix="/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/token",
    operation_id="auth-token",
    summary="Sign in",
    responses=problems(400, 422, 429),
    # The form is FastAPI's own model: its example is given here.
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {
                        "grant_type": "password",
                        "username": "nguyen.van.a",
                        "password": "Mat-khau-tam-2026",
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
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenPair:
    """OAuth2 password grant (form fields `username`, `password`). Returns a 15-minute
    access token (JWT) and a 30-day single-use refresh token. Wrong credentials answer 400
    `invalid_grant`; after repeated failures for a username or from an address, 429 with
    `Retry-After` until the back-off passes (the password is then not checked at all, so
    even the right one is refused). The address is the TCP peer's, or the client named in
    `X-Forwarded-For` by a proxy listed in `DXPLAN_TRUSTED_PROXIES`."""
    response.headers.update(NO_STORE)
    return await service.sign_in(
        session,
        username=form.username,
        password=form.password,
        address=client_address(request),
        key=request.app.state.signing_key,
        settings=settings,
    )


@router.post(
    "/refresh",
    operation_id="auth-refresh",
    summary="Rotate the refresh token",
    responses=problems(400, 401, 422),
)
async def refresh(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    body: RefreshRequest,
) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once: presenting a
    used one again revokes every token descended from the same sign-in."""
    response.headers.update(NO_STORE)
    return await service.refresh(
        session, token=body.refresh_token, key=request.app.state.signing_key, settings=settings
    )


@router.post(
    "/logout",
    operation_id="auth-logout",
    summary="Sign out",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(400, 422),
)
async def logout(session: SessionDep, body: RefreshRequest) -> None:
    """Revoke the refresh token and every token of its sign-in, its access tokens included
    (refused from the next request on, on every server). Always 204."""
    await service.sign_out(session, token=body.refresh_token)
