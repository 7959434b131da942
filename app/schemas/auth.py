"""Token contracts (OAuth2 password grant and refresh rotation)."""

from pydantic import BaseModel, ConfigDict, Field

_REFRESH = "7uoKfWQBs2dEaqIW4Eo2IDOkZ3p4p-vsrebVBjqFpTw"


class TokenPair(BaseModel):
    """RFC 6749 §5.1's successful answer (`access_token`, `token_type`, `expires_in`,
    `refresh_token`), plus the refresh token's lifetime; sent with `Cache-Control: no-store`.
    The same for the password and the refresh_token grant and for `/auth/refresh`."""

    access_token: str = Field(
        description="A JWT; send it as `Authorization: Bearer <token>`.",
        examples=[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1Iiwicm9sZSI6Im9mZmljZXIiLCJhZ2V"
            "uY3kiOiJTWVQiLCJpYXQiOjE3OTQ3MTE2MDAsImV4cCI6MTc5NDcxMjUwMH0.Zm9vYmFy"
        ],
    )
    token_type: str = Field(
        default="bearer", description="Always `bearer` (RFC 6750).", examples=["bearer"]
    )
    expires_in: int = Field(description="Seconds the access token stays valid.", examples=[900])
    refresh_token: str = Field(
        description="Opaque; single use: each refresh returns a new one.", examples=[_REFRESH]
    )
    refresh_expires_in: int = Field(
        description="Seconds the refresh token stays valid if unused.", examples=[2592000]
    )


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200, examples=[_REFRESH])
