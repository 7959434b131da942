"""All tables, imported so that ``SQLModel.metadata`` knows every one of them."""

from app.core import db as _db  # noqa: F401  (sets the constraint naming convention first)
from app.models.agencies import Agency, AgencyGroupMember
from app.models.attachments import Attachment
from app.models.changes import Change, DataVersion
from app.models.documents import Document, DocumentAgency
from app.models.indicators import Indicator, IndicatorAgency, IndicatorTarget
from app.models.ops import AuditEntry, AuditLink, IdempotencyKey, Notification
from app.models.plans import Plan
from app.models.read_models import IndicatorValueLatest, IndicatorValueYearly, TaskProgressLatest
from app.models.reorganisations import Reorganisation, ReorganisationAgency, ReorganisationTransfer
from app.models.reports import (
    DocumentUpdate,
    IndicatorValue,
    PeriodAgency,
    Report,
    ReportEvent,
    ReportingPeriod,
    TaskUpdate,
)
from app.models.sections import Section, SectionAgency
from app.models.tasks import Task, TaskAgency, TaskGroup
from app.models.users import AuthSession, LoginThrottle, RefreshToken, User
from app.models.webhooks import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "Agency",
    "AgencyGroupMember",
    "Attachment",
    "AuditEntry",
    "AuditLink",
    "AuthSession",
    "Change",
    "DataVersion",
    "Document",
    "DocumentAgency",
    "DocumentUpdate",
    "IdempotencyKey",
    "Indicator",
    "IndicatorAgency",
    "IndicatorTarget",
    "IndicatorValue",
    "IndicatorValueLatest",
    "IndicatorValueYearly",
    "LoginThrottle",
    "Notification",
    "PeriodAgency",
    "Plan",
    "RefreshToken",
    "Reorganisation",
    "ReorganisationAgency",
    "ReorganisationTransfer",
    "Report",
    "ReportEvent",
    "ReportingPeriod",
    "Section",
    "SectionAgency",
    "Task",
    "TaskAgency",
    "TaskGroup",
    "TaskProgressLatest",
    "TaskUpdate",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
