"""Evidence file contracts."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.common import LocalDateTime

ItemKind = Literal["task-updates", "indicator-values", "document-updates"]
FileType = Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]


class AttachmentRead(BaseModel):
    id: int = Field(examples=[3])
    item_kind: ItemKind
    item_id: int = Field(examples=[7])
    filename: str = Field(
        max_length=255,
        description="The uploader's file name, without any folder part.",
        examples=["bien-ban-nghiem-thu.pdf"],
    )
    content_type: FileType = Field(
        description="Detected from the file's bytes.", examples=["application/pdf"]
    )
    size_bytes: int = Field(examples=[284512])
    sha256: str = Field(
        description="Lowercase hex SHA-256 of the content.",
        examples=["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    )
    created_at: LocalDateTime
    download_url: str = Field(examples=["/api/v1/reports/12/attachments/3/download"])
    allowed_actions: list[str] = Field(
        description="What the caller may do now: delete.", examples=[["delete"]]
    )


# The upload body, documented by hand: the route streams it rather than letting the
# framework buffer the whole form first.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "JPEG, PNG, WebP or PDF, judged by content.",
                        }
                    },
                }
            }
        },
    }
}

# The download's 200: the stored bytes under their detected type.
DOWNLOAD_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("image/jpeg", "image/png", "image/webp", "application/pdf")
        },
    }
}
