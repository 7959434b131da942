"""User and profile contracts."""

from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.permissions import Permission, Role
from app.schemas.common import AgencyRef, LocalDateTime, Page

USERNAME_PATTERN = r"^[a-z0-9._-]{3,64}$"


def _any_case(word: str) -> str:
    return "".join(f"[{c}{c.upper()}]" for c in word)


# The e-mail validator refuses special-use domains (RFC 6761: .test, .local, .invalid ...)
# although `format: email` admits them: the contract says so with a pattern (any case,
# ECMA regex, no inline flags).
EMAIL_PATTERN = (
    r"^(?![^@]*@(?:[^@]*\.)?(?:"
    + "|".join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)
    + r")\.?$)"
)
Email = Annotated[EmailStr, Field(json_schema_extra={"pattern": EMAIL_PATTERN})]
# Bodies here are stripped of surrounding whitespace before their length is checked, so a
# required text needs one character that is not whitespace (nor NUL).
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"


class UserRead(BaseModel):
    id: int = Field(examples=[5])
    username: str = Field(examples=["nguyen.van.a"])
    full_name: str = Field(examples=["Nguyễn Văn A"])
    email: str | None = Field(examples=["nguyen.van.a@haiduong.gov.vn"])
    phone: str | None = Field(examples=["0220 3853 555"])
    agency: AgencyRef
    role: Role
    is_active: bool
    last_login_at: LocalDateTime | None
    created_at: LocalDateTime
    updated_at: LocalDateTime


class MeRead(UserRead):
    permissions: list[Permission] = Field(
        description="What this account may do, for drawing the app's menus."
    )


class _Body(BaseModel):
    # Unknown fields (id, password_hash, version ...) are refused, never silently dropped.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserCreate(_Body):
    username: str = Field(pattern=USERNAME_PATTERN, examples=["tran.thi.b"])
    full_name: str = Field(min_length=1, pattern=NOT_BLANK, max_length=200, examples=["Trần Thị B"])
    email: Email | None = Field(
        default=None, max_length=254, examples=["tran.thi.b@haiduong.gov.vn"]
    )
    phone: str | None = Field(
        default=None, max_length=32, pattern=r"^\+?[0-9 .-]{6,32}$", examples=["0220 3853 555"]
    )
    password: str = Field(
        min_length=1, pattern=NOT_BLANK, max_length=256, examples=["Mat-khau-tam-2026"]
    )
    agency: str = Field(max_length=32, pattern=r"^[A-Z0-9_]+$", examples=["SYT"])
    role: Role


class UserUpdate(_Body):
    full_name: str | None = Field(
        default=None, min_length=1, pattern=NOT_BLANK, max_length=200, examples=["Trần Thị Bích"]
    )
    email: Email | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 .-]{6,32}$")
    agency: str | None = Field(default=None, max_length=32, pattern=r"^[A-Z0-9_]+$")
    role: Role | None = None
    is_active: bool | None = None


class PasswordChange(_Body):
    current_password: str = Field(
        min_length=1, pattern=NOT_BLANK, max_length=256, examples=["Mat-khau-tam-2026"]
    )
    new_password: str = Field(
        min_length=1, pattern=NOT_BLANK, max_length=256, examples=["Chuyen-doi-so-2358"]
    )


class PasswordReset(_Body):
    new_password: str = Field(
        min_length=1, pattern=NOT_BLANK, max_length=256, examples=["Mat-khau-tam-2027"]
    )


class UserPage(Page[UserRead]):
    pass
