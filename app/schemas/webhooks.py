"""Webhook subscriptions and their deliveries."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints, field_validator

from app.schemas.common import LocalDateTime, Page

WebhookEvent = Literal[
    "report.submitted",
    "report.approved",
    "report.returned",
    "period.opened",
    "task.status_changed",
]
DeliveryStatus = Literal["pending", "delivered", "failed"]

WebhookUrl = Annotated[
    AnyHttpUrl,
    UrlConstraints(max_length=2000, allowed_schemes=["http", "https"]),
    Field(examples=["https://lgsp.haiduong.gov.vn/hooks/dxplan"]),
]
Secret = Annotated[
    str,
    Field(
        min_length=16,
        max_length=200,
        description="The HMAC-SHA256 key deliveries are signed with; write-only.",
        examples=["8c1f0e2b7a4d49f3b1e6c5a2d7f0e913"],
    ),
]
Events = Annotated[
    list[WebhookEvent],
    Field(min_length=1, max_length=5, examples=[["report.submitted", "report.approved"]]),
]


def _distinct(events: list[str] | None) -> list[str] | None:
    return None if events is None else list(dict.fromkeys(events))


class _Body(BaseModel):
    # No whitespace stripping: a secret is used exactly as given (trimmed, every signature
    # would fail at the receiver).
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_Body):
    url: WebhookUrl
    secret: Secret
    events: Events
    description: str = Field(default="", max_length=500, examples=["LGSP: báo cáo đã duyệt"])
    active: bool = True

    _events = field_validator("events")(_distinct)


class WebhookUpdate(_Body):
    url: WebhookUrl | None = None
    secret: Secret | None = None
    events: Events | None = None
    description: str | None = Field(default=None, max_length=500)
    active: bool | None = None

    _events = field_validator("events")(_distinct)


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str = Field(examples=["https://lgsp.haiduong.gov.vn/hooks/dxplan"])
    events: list[WebhookEvent]
    description: str = Field(examples=["LGSP: báo cáo đã duyệt"])
    active: bool
    version: int = Field(examples=[1])
    created_at: LocalDateTime
    updated_at: LocalDateTime


class WebhookPage(Page[WebhookRead]):
    pass


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: int
    event_id: UUID = Field(
        description="The event's id, the same in every delivery of it (redeliveries too): "
        "receivers drop duplicates by it."
    )
    event: WebhookEvent
    status: DeliveryStatus
    attempts: int = Field(description="HTTP attempts made so far.")
    next_attempt_at: LocalDateTime | None = Field(
        description="When the next attempt is due; null once delivered or failed."
    )
    last_status_code: int | None = Field(examples=[503])
    last_error: str | None = Field(examples=["HTTP 503"])
    created_at: LocalDateTime
    delivered_at: LocalDateTime | None
    redelivery_of_id: int | None = Field(description="The delivery this one repeats.")


class DeliveryPage(Page[DeliveryRead]):
    pass


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int = Field(examples=[1])
    at: LocalDateTime
    duration_ms: int = Field(examples=[84])
    status_code: int | None = Field(
        description="The receiver's answer; null when none came.", examples=[503]
    )
    error: str | None = Field(
        description="Why the attempt failed: `HTTP <status>`, a network error, a timeout, or "
        "`Blocked: …` when the receiver's address is not a permitted destination (nothing "
        "was sent).",
        examples=["HTTP 503"],
    )
    response_excerpt: str | None = Field(
        default=None,
        deprecated=True,
        description="Always null: the receiver's answer is no longer kept or shown (it "
        "could carry an internal service's data). Kept for compatibility.",
    )

    @field_validator("response_excerpt", mode="before")
    @classmethod
    def _never_shown(cls, value: object) -> None:
        # Rows logged before the answer stopped being kept may still hold an excerpt.
        return None


class DeliveryDetail(DeliveryRead):
    payload: dict[str, Any] = Field(
        description="The JSON body posted to the receiver.",
        examples=[
            {
                "id": "5f0c2a8e-4b7d-4a51-9c1e-2d3f6a7b8c90",
                "type": "report.approved",
                "occurred_at": "2026-11-20T09:30:00+07:00",
                "data": {
                    "plan": "2358/KH-UBND",
                    "report": {
                        "id": 42,
                        "agency": "SYT",
                        "period_id": 6,
                        "period_code": "annual-2026",
                        "state": "approved",
                        "version": 3,
                    },
                    "comment": None,
                },
            }
        ],
    )
    attempt_log: list[AttemptRead]
