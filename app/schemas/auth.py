"""Token contracts (OAuth2 password grant and refresh rotation)."""

from pydantic import BaseModel, ConfigDict, Field

_REFRESH = "7uoKfWQBs2dEaqIW4Eo2IDOkZ3p4p-vsrebVBjqFpTw"


class TokenPair(BaseModel):
    access_token: str = Field(
        description="A JWT; send it as `Authorization: Bearer <token>`.",
        examples=[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1Iiwicm9sZSI6Im9mZmljZXIiLCJhZ2V"
            "uY3kiOiJTWVQiLCJpYXQiOjE3OTQ3MTE2MDAsImV4cCI6MTc5NDcxMjUwMH0.Zm9vYmFy"
        ],
    )
    token_type: str = Field(default="bearer", examples=["bearer"])
    expires_in: int = Field(description="Seconds the access token stays valid.", examples=[900])
    refresh_token: str = Field(
        description="Opaque; single use: each refresh returns a new one.", examples=[_REFRESH]
    )
    refresh_expires_in: int = Field(examples=[2592000])


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=200, examples=[_REFRESH])
