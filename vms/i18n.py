"""Languages and local time: Babel message catalogues, the reader's language, the site's zone.

Every text a person reads (pages, scripts, custody alerts, the briefing, the interview report)
is an English message id marked for extraction (``_()`` / ``N_()`` in Python, ``{% trans %}``
and ``_()`` in templates, ``t()`` in scripts) and translated through the catalogues in
``vms/locale/<lang>/LC_MESSAGES/messages.po`` (compiled ``.mo`` beside them; ``scripts/i18n``
extracts, updates and compiles). Times are stored in UTC and shown in ``site.timezone``::

    texts = texts_for("zh-CN", "Asia/Shanghai")
    texts.gettext("Live wall")            # '实时监控墙'
    texts.when(datetime(2026, 11, 27, 10, 15, tzinfo=UTC))   # '2026-11-27 18:15:00 UTC+8'
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.pofile import read_po

from vms.i18n_mark import N_ as N_  # re-exported: every module marks with vms.i18n.N_
from vms.labels import label

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
#: Languages offered, as browsers and users name them; the first is the site default.
LANGUAGES: dict[str, str] = {"zh-CN": "zh_CN", "en": "en"}
LANGUAGE_NAMES: dict[str, str] = {"zh-CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh-CN"
DEFAULT_TIMEZONE = "Asia/Shanghai"


def check_language(value: str) -> str:
    """'zh-cn' -> 'zh-CN'; anything not offered is an error naming the choices."""
    for tag in LANGUAGES:
        if value.lower().replace("_", "-") == tag.lower():
            return tag
    raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {value!r}")


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from exc
    return value


def negotiate(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The offered language a browser's ``Accept-Language`` prefers most (q-values honoured;
    any Chinese -> zh-CN, any English -> en), else ``default``."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        match = {"zh": "zh-CN", "en": "en"}.get(primary)
        if match and q > 0:
            ranked.append((-q, i, match))
    return sorted(ranked)[0][2] if ranked else default


def zone_label(tz: ZoneInfo, at: datetime | None = None) -> str:
    """'UTC+8', 'UTC+5:30', 'UTC' for the zone's offset at ``at`` (now by default)."""
    offset = (at or datetime.now(UTC)).astimezone(tz).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


@dataclass(frozen=True)
class Texts:
    """One reader's language and the site's time zone: translate, and show times locally."""

    language: str
    tz: ZoneInfo
    translations: gettext.NullTranslations

    def gettext(self, message: str, **params: Any) -> str:
        text = self.translations.gettext(message)
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, **params: Any) -> str:
        text = self.translations.ngettext(singular, plural, n)
        return text % {"num": n, **params}

    _ = gettext

    @property
    def zone(self) -> str:
        return zone_label(self.tz)

    def local(self, dt: datetime) -> datetime:
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(self.tz)

    def time(self, dt: datetime | None, *, seconds: bool = True) -> str:
        """'2026-11-27 18:15:02' in the site's zone ('–' for none)."""
        if dt is None:
            return "–"
        return self.local(dt).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def clock(self, dt: datetime) -> str:
        """'18:15:02' in the site's zone."""
        return self.local(dt).strftime("%H:%M:%S")

    def when(self, dt: datetime | None) -> str:
        """A time with its zone: '2026-11-27 18:15:02 UTC+8'."""
        return "–" if dt is None else f"{self.time(dt)} {zone_label(self.tz, dt)}"

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC instants where a local calendar day begins and ends."""
        start = datetime.combine(day, time(0), tzinfo=self.tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def duration(self, seconds: float) -> str:
        """A span a person reads at a glance: '2 d 3 h', '3 h 05 min', '4 min 10 s', '42 s'."""
        s = round(abs(seconds))
        d, rest = divmod(s, 86400)
        h, rest = divmod(rest, 3600)
        m, sec = divmod(rest, 60)
        if d:
            text = self.gettext("%(d)d d %(h)d h", d=d, h=h)
        elif h:
            text = self.gettext("%(h)d h %(m)02d min", h=h, m=m)
        elif m:
            text = self.gettext("%(m)d min %(s)02d s", m=m, s=sec)
        else:
            text = self.gettext("%(s)d s", s=sec)
        return f"-{text}" if seconds < 0 and s else text

    def duration_min(self, seconds: float) -> str:
        """To the minute, for texts read over minutes: '2 d 3 h', '3 h 05 min', '12 min'."""
        m_total = int(abs(seconds) // 60)
        if m_total == 0:
            return self.gettext("under a minute")
        d, rest = divmod(m_total, 1440)
        h, m = divmod(rest, 60)
        if d:
            return self.gettext("%(d)d d %(h)d h", d=d, h=h)
        if h:
            return self.gettext("%(h)d h %(m)02d min", h=h, m=m)
        return self.gettext("%(m)d min", m=m)

    def label(self, kind: str, value: str | None) -> str:
        """A vocabulary value as the reader calls it (``vms.labels``): 'loitering' -> '徘徊'."""
        return label(self, kind, value)


def _locale_path(language: str, ext: str) -> Path:
    return LOCALE_DIR / LANGUAGES[language] / "LC_MESSAGES" / f"{DOMAIN}.{ext}"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English message ids need none to fall back)."""
    path = _locale_path(check_language(language), "mo")
    if not path.exists():
        if language == "en":
            return gettext.NullTranslations()
        raise FileNotFoundError(f"{path} is missing: run scripts/i18n compile")
    with path.open("rb") as fp:
        return gettext.GNUTranslations(fp)


@cache
def texts_for(language: str | None = None, timezone: str = DEFAULT_TIMEZONE) -> Texts:
    lang = check_language(language or DEFAULT_LANGUAGE)
    return Texts(lang, ZoneInfo(timezone), translations(lang))


@cache
def script_messages(language: str) -> dict[str, str]:
    """The translations the pages' scripts need (messages extracted from ``*.js``)."""
    lang = check_language(language)
    path = _locale_path(lang, "po")
    if not path.exists():
        return {}
    with path.open("rb") as fp:
        catalog = read_po(fp, locale=LANGUAGES[lang])
    out: dict[str, str] = {}
    for msg in catalog:
        if not msg.id or not any(f.endswith(".js") for f, _ in msg.locations):
            continue
        msgid = msg.id if isinstance(msg.id, str) else msg.id[0]
        text = msg.string if isinstance(msg.string, str) else (msg.string or ("",))[0]
        if text:
            out[msgid] = text
    return out
