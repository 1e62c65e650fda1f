"""Roles and what each may do: the one authorisation matrix of the web application.

    admin         users, cameras and configuration (no footage)
    supervisor    live video, alerts (acknowledge), custody
    investigator  events search, playback, download, cases and exports
    auditor       read-only recordings (playback, download), interviews, audit log
    officer       an officer who wears a body-worn recorder: uploads footage, sees their own
                  files (the account is linked to an officer record, docs/bodyworn.md)
    (ops)         /metrics and scheduled jobs: admin, supervisor; daily briefings: every role
    (body-worn)   file records: supervisor, investigator, auditor, officer (own files only);
                  viewing or copying a file that is not one's own needs an approval granted
                  by a supervisor (vms.bodyworn.access), checked per file, not by role

A router guards each route with ``Depends(require(Permission.X))``; tests/web/test_authz.py
checks every route of the app against its own copy of this table.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    INVESTIGATOR = "investigator"
    AUDITOR = "auditor"
    OFFICER = "officer"


class Permission(StrEnum):
    """A capability a route needs; ``ROLES_FOR`` says which roles have it."""

    MANAGE_USERS = "manage_users"
    VIEW_CAMERAS = "view_cameras"
    LIVE = "live"
    ALERTS = "alerts"
    EVENTS = "events"
    PLAYBACK = "playback"
    DOWNLOAD = "download"
    CASES = "cases"
    EXPORT = "export"
    CUSTODY = "custody"
    SEARCH = "search"
    AUDIT_LOG = "audit_log"
    INTERVIEWS = "interviews"
    OPS = "ops"
    BRIEFINGS = "briefings"
    BODYWORN = "bodyworn"  # body-worn file records, search, approval requests
    BODYWORN_UPLOAD = "bodyworn_upload"
    BODYWORN_CATEGORY = "bodyworn_category"  # set a file's retention category (with a reason)
    BODYWORN_MANAGE = "bodyworn_manage"  # officers, recorders, assignments, shifts
    BODYWORN_APPROVE = "bodyworn_approve"  # decide requests to view or copy


ROLES_FOR: dict[Permission, frozenset[Role]] = {
    Permission.MANAGE_USERS: frozenset({Role.ADMIN}),
    Permission.VIEW_CAMERAS: frozenset(Role),
    Permission.LIVE: frozenset({Role.SUPERVISOR}),
    Permission.ALERTS: frozenset({Role.SUPERVISOR}),
    Permission.EVENTS: frozenset({Role.SUPERVISOR, Role.INVESTIGATOR}),
    Permission.PLAYBACK: frozenset({Role.INVESTIGATOR, Role.AUDITOR}),
    Permission.DOWNLOAD: frozenset({Role.INVESTIGATOR, Role.AUDITOR}),
    Permission.CASES: frozenset({Role.INVESTIGATOR}),
    Permission.EXPORT: frozenset({Role.INVESTIGATOR}),
    Permission.CUSTODY: frozenset({Role.SUPERVISOR}),
    Permission.SEARCH: frozenset({Role.INVESTIGATOR}),
    Permission.AUDIT_LOG: frozenset({Role.AUDITOR}),
    Permission.INTERVIEWS: frozenset({Role.AUDITOR}),
    Permission.OPS: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.BRIEFINGS: frozenset(Role),
    Permission.BODYWORN: frozenset(
        {Role.SUPERVISOR, Role.INVESTIGATOR, Role.AUDITOR, Role.OFFICER}
    ),
    Permission.BODYWORN_UPLOAD: frozenset({Role.SUPERVISOR, Role.OFFICER}),
    Permission.BODYWORN_CATEGORY: frozenset({Role.SUPERVISOR, Role.INVESTIGATOR, Role.OFFICER}),
    Permission.BODYWORN_MANAGE: frozenset({Role.ADMIN, Role.SUPERVISOR}),
    Permission.BODYWORN_APPROVE: frozenset({Role.SUPERVISOR}),
}


def allowed(role: Role | str, permission: Permission) -> bool:
    return Role(role) in ROLES_FOR[permission]
