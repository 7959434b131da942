"""Permissions as data: what each role may do. Routes name the permission they need;
nothing else in the code branches on a role's name."""

from enum import StrEnum


class Role(StrEnum):
    officer = "officer"
    agency_lead = "agency_lead"
    reviewer = "reviewer"
    observer = "observer"
    admin = "admin"


class Permission(StrEnum):
    profile_read = "profile:read"
    profile_password = "profile:password"
    users_read = "users:read"  # users of one's own agency
    users_read_all = "users:read_all"  # users of every agency
    users_manage = "users:manage"  # create, change role/agency/active, reset passwords
    reports_read_own = "reports:read_own"  # every report of one's agency, drafts included
    reports_read_all = "reports:read_all"  # every agency's reports once submitted
    reports_edit = "reports:edit"  # create one's agency's report, write its items
    reports_submit = "reports:submit"  # submit or withdraw one's agency's report
    reports_comment = "reports:comment"
    reports_review = "reports:review"  # approve, return, return or approve single items
    periods_manage = "periods:manage"  # open, close, extend periods; ad hoc requests
    audit_read = "audit:read"
    webhooks_manage = "webhooks:manage"  # register receivers, read and redo deliveries
    reorganisations_manage = "reorganisations:manage"  # record and correct reorganisations


_STAFF = frozenset({Permission.profile_read, Permission.profile_password, Permission.users_read})
_AGENCY = _STAFF | {
    Permission.reports_read_own,
    Permission.reports_edit,
    Permission.reports_comment,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.officer: _AGENCY,
    Role.agency_lead: _AGENCY | {Permission.reports_submit},
    Role.reviewer: _STAFF
    | {
        Permission.users_read_all,
        Permission.reports_read_all,
        Permission.reports_comment,
        Permission.reports_review,
        Permission.periods_manage,
        Permission.audit_read,
    },
    Role.observer: _STAFF | {Permission.users_read_all, Permission.reports_read_all},
    Role.admin: _STAFF
    | {
        Permission.users_read_all,
        Permission.users_manage,
        Permission.reports_read_all,
        Permission.audit_read,
        Permission.webhooks_manage,
        Permission.reorganisations_manage,
    },
}

# Reviewers work at the coordinating department (Sở TTTT).
REVIEWER_AGENCY = "STTTT"


def permissions_of(role: str) -> frozenset[Permission]:
    return (
        ROLE_PERMISSIONS.get(Role(role), frozenset()) if role in Role.__members__ else frozenset()
    )
