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


_STAFF = frozenset({Permission.profile_read, Permission.profile_password, Permission.users_read})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.officer: _STAFF,
    Role.agency_lead: _STAFF,
    Role.reviewer: _STAFF | {Permission.users_read_all},
    Role.observer: _STAFF | {Permission.users_read_all},
    Role.admin: frozenset(Permission),
}

# Reviewers work at the coordinating department (Sở TTTT).
REVIEWER_AGENCY = "STTTT"


def permissions_of(role: str) -> frozenset[Permission]:
    return (
        ROLE_PERMISSIONS.get(Role(role), frozenset()) if role in Role.__members__ else frozenset()
    )
