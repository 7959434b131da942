"""All tables, imported so that ``SQLModel.metadata`` knows every one of them."""

from app.core import db as _db  # noqa: F401  (sets the constraint naming convention first)
from app.models.agencies import Agency, AgencyGroupMember
from app.models.documents import Document, DocumentAgency
from app.models.indicators import Indicator, IndicatorAgency, IndicatorTarget
from app.models.plans import Plan
from app.models.sections import Section, SectionAgency
from app.models.tasks import Task, TaskAgency, TaskGroup
from app.models.users import LoginThrottle, RefreshToken, User

__all__ = [
    "Agency",
    "AgencyGroupMember",
    "Document",
    "DocumentAgency",
    "Indicator",
    "IndicatorAgency",
    "IndicatorTarget",
    "LoginThrottle",
    "Plan",
    "RefreshToken",
    "Section",
    "SectionAgency",
    "Task",
    "TaskAgency",
    "TaskGroup",
    "User",
]
