"""RFC 9457 problem details, the one error shape of the API."""

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    loc: list[str | int] = Field(description='Where the bad value is, e.g. ["query", "limit"].')
    field: str = Field(description="The parameter or body field name.")
    type: str = Field(description="Stable machine code of the failed rule.")
    message: str = Field(description="Human message in the negotiated language.")


class Problem(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:dxplan:problem:not_found",
                    "title": "Không tìm thấy",
                    "status": 404,
                    "detail": "Không tìm thấy nhiệm vụ có mã “Z.9”.",
                    "instance": "/api/v1/tasks/Z.9",
                    "code": "not_found",
                    "request_id": "5f0c2b8e6a0d4c1f",
                }
            ]
        }
    )

    type: str = Field(description="URI naming the problem type: urn:dxplan:problem:<code>.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str = Field(description="Stable machine code; clients branch on this, not on text.")
    request_id: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="Present on validation_error: one entry per bad field."
    )
    error: str | None = Field(
        default=None,
        description="Only on the token endpoint's OAuth2 errors: the RFC 6749 §5.2 `error` "
        "code (`invalid_grant`, `unsupported_grant_type`), the same as `code`.",
    )
    seen_version: int | None = Field(
        default=None,
        description="Only on precondition_failed: the version the If-Match named (null when "
        "no tag named this object).",
    )
    current_version: int | None = Field(
        default=None, description="Only on precondition_failed: the version stored now."
    )
