"""``N_``: the mark of a message to translate where it is shown (gettext's convention).

A leaf of its own, so that tables of messages (``vms.labels``) mark theirs without importing
the translation machinery that reads them (``vms.i18n``, which re-exports ``N_``).
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark a message for extraction where it is defined; translate it where it is shown."""
    return message
