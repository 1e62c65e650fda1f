"""How a reader calls each vocabulary value (event types, severities, rooms, roles, ...).

Values travel through the API as they are stored ("person_down"); pages and documents show
their label in the reader's language. ``tests/test_i18n.py`` checks every value of every
enumeration has one here.
"""

from __future__ import annotations

from typing import Any, Protocol

from vms.i18n_mark import N_


class Texts(Protocol):
    """What a label needs of the reader's texts (``vms.i18n.Texts``, which uses this module)."""

    def gettext(self, message: str, **params: Any) -> str: ...


LABELS: dict[str, dict[str, str]] = {
    "event_type": {
        "loitering": N_("Loitering"),
        "intrusion": N_("Intrusion"),
        "crowding": N_("Crowding"),
        "occupancy": N_("Too many people"),
        "person_down": N_("Person down"),
        "stillness": N_("Person still"),
        "tamper": N_("Camera tampering"),
        "camera_offline": N_("Camera offline"),
        "camera_unhealthy": N_("Camera unhealthy"),
        "segment_hash_mismatch": N_("Recording altered (hash mismatch)"),
        "storage_full": N_("Storage full"),
        "storage_full_held_only": N_("Storage full of held footage"),
        "bodyworn_no_footage": N_("Body-worn recorder: no footage uploaded"),
        "bodyworn_late_upload": N_("Body-worn recorder: upload overdue"),
    },
    "severity": {
        "info": N_("Info"),
        "warning": N_("Warning"),
        "critical": N_("Critical"),
    },
    "camera_kind": {
        "street": N_("Street"),
        "custody": N_("Custody"),
        "bodyworn": N_("Body-worn recorder"),
    },
    "room_type": {
        "duty": N_("Duty room"),
        "holding": N_("Holding room"),
        "interrogation": N_("Interrogation room"),
        "inquiry": N_("Inquiry room"),
        "mediation": N_("Mediation room"),
        "cell": N_("Cell"),
        "service_hall": N_("Public service hall"),
    },
    "alert_type": {
        "legal_clock_warning": N_("Legal time limit approaching"),
        "legal_clock_limit": N_("Legal time limit reached"),
        "resummons": N_("Summoned again too soon"),
        "two_officer": N_("Fewer than two officers"),
        "person_alone": N_("Person held alone"),
        "person_down": N_("Person down"),
        "stillness": N_("Person still"),
        "observation_overdue": N_("Observation round overdue"),
        "room_without_video": N_("Room in use without video"),
        "recording_incomplete": N_("Interview recording incomplete"),
        "no_sound": N_("Room records no sound"),
    },
    "risk": {"normal": N_("Normal"), "elevated": N_("Elevated"), "high": N_("High")},
    "role": {
        "admin": N_("Administrator"),
        "supervisor": N_("Custody supervisor"),
        "investigator": N_("Investigator"),
        "auditor": N_("Auditor"),
        "officer": N_("Officer"),
    },
    "camera_state": {
        "starting": N_("starting"),
        "connected": N_("connected"),
        "reconnecting": N_("reconnecting"),
        "failed": N_("failed"),
        "stopped": N_("stopped"),
    },
    "case_status": {"open": N_("Open"), "closed": N_("Closed")},
    "item_kind": {"clip": N_("Clip"), "event": N_("Event")},
    "hash_check": {
        "ok": N_("hash ok"),
        "mismatch": N_("hash MISMATCH"),
        "missing": N_("file MISSING"),
        "unhashed": N_("recording in progress"),
    },
    "audit_action": {
        "create": N_("create"),
        "update": N_("update"),
        "view": N_("view"),
        "export": N_("export"),
        "hold": N_("hold"),
        "release": N_("release"),
        "delete": N_("delete"),
        "deleted": N_("deleted"),
        "reject": N_("reject"),
        "request": N_("request"),
        "approve": N_("approve"),
        "refuse": N_("refuse"),
        "revoke": N_("revoke"),
        "deny": N_("deny"),
    },
    # body-worn footage (docs/bodyworn.md)
    "bodyworn_category": {
        "default": N_("Default (6 months)"),
        "evidence": N_("Evidence"),
        "obstruction": N_("Officers obstructed"),
        "major_incident": N_("Major incident"),
        "complex_case": N_("Complex case"),
    },
    "time_source": {
        "metadata": N_("from the file's metadata"),
        "file_name": N_("from the file name"),
        "file_time": N_("from the file time"),
    },
    "officer_source": {
        "assignment": N_("by the recorder's assignment"),
        "declared": N_("as declared"),
        "file": N_("as the file says"),
        "none": N_("nobody"),
    },
    "approval_action": {"view": N_("view"), "copy": N_("copy")},
    "approval_status": {
        "pending": N_("pending"),
        "granted": N_("granted"),
        "refused": N_("refused"),
        "revoked": N_("revoked"),
        "expired": N_("expired"),
    },
    "ingest_result": {
        "open": N_("in progress"),
        "stored": N_("stored"),
        "duplicate": N_("duplicate"),
        "rejected": N_("rejected"),
        "incomplete": N_("incomplete"),
        "cancelled": N_("cancelled"),
        "expired": N_("expired"),
    },
    "dock_status": {
        "copying": N_("being copied"),
        "stored": N_("stored"),
        "duplicate": N_("duplicate"),
        "rejected": N_("rejected"),
        "incomplete": N_("incomplete"),
        "error": N_("error"),
    },
}


def label(texts: Texts, kind: str, value: str | None) -> str:
    """The reader's word for ``value``; an unknown value is shown as it is stored."""
    if value is None:
        return "–"
    message = LABELS.get(kind, {}).get(value)
    return texts.gettext(message) if message else value


def translated(texts: Texts) -> dict[str, dict[str, str]]:
    """Every label in the reader's language (what the pages' scripts look up)."""
    return {
        kind: {v: texts.gettext(m) for v, m in values.items()} for kind, values in LABELS.items()
    }
