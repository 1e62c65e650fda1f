"""Languages and local time: the catalogues cover the code, the compiled files match them, pages
carry no untranslated text, vocabulary values all have labels, times read locally."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, date, datetime
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.conftest import ROOT
from vms.cameras.health import CameraState
from vms.custody.config import RiskLevel
from vms.custody.rules import AlertType
from vms.i18n import LANGUAGES, LOCALE_DIR, negotiate, script_messages, texts_for, zone_label
from vms.labels import LABELS
from vms.vocab import CameraKind, EventType, RoomType, Severity
from vms.web.roles import Role

PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0]*\d*(?:\.\d+)?[sdifg]|\{\w+\}")


def extracted(capsys: pytest.CaptureFixture[str]) -> dict[str, set[str]]:
    """Every message id in the code now, with the files it is in (as scripts/i18n does)."""
    with (ROOT / "babel.cfg").open() as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    found: dict[str, set[str]] = {}
    base = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    for keywords, is_js in ((base, False), ({"t": None}, True)):
        methods = [m for m in method_map if (m[1] == "javascript") == is_js]
        for filename, _line, message, _comments, _context in extract_from_dir(
            ROOT, methods, options_map, keywords=keywords
        ):
            msgid = message if isinstance(message, str) else message[0]
            found.setdefault(msgid, set()).add(filename)
    skipped = [line for line in capsys.readouterr().err.splitlines() if "Skipping f-string" in line]
    assert not skipped, f"messages inside f-strings are not extracted: {skipped}"
    return found


def catalogue(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / LANGUAGES[lang] / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fp:
        cat = read_po(fp, locale=LANGUAGES[lang])
    out = {}
    for msg in cat:
        if msg.id:
            assert not msg.fuzzy, f"{lang}: fuzzy translation of {msg.id!r}"
            msgid = msg.id if isinstance(msg.id, str) else msg.id[0]
            text = msg.string if isinstance(msg.string, str) else msg.string[0]
            out[msgid] = text
    return out


def test_every_message_of_the_code_is_translated(capsys: pytest.CaptureFixture[str]) -> None:
    code = extracted(capsys)
    assert len(code) > 200  # pages, scripts, alerts, briefing, report
    zh = catalogue("zh-CN")
    missing = sorted(m for m in code if not zh.get(m))
    assert not missing, f"run scripts/i18n extract and translate: {missing}"
    en = catalogue("en")
    assert set(code) <= set(en), "run scripts/i18n extract: en/messages.po is behind the code"
    stale = sorted(set(zh) - set(code))
    assert not stale, f"messages no longer in the code (run scripts/i18n extract): {stale}"


def test_translations_keep_every_placeholder() -> None:
    for msgid, text in catalogue("zh-CN").items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid


def test_compiled_catalogues_match_their_sources() -> None:
    """The committed .mo files are what the .po files say (scripts/i18n compile)."""
    for lang, folder in LANGUAGES.items():
        mo = LOCALE_DIR / folder / "LC_MESSAGES" / "messages.mo"
        with mo.open("rb") as fp:
            compiled = gettext.GNUTranslations(fp)
        for msgid, text in catalogue(lang).items():
            assert compiled.gettext(msgid) == (text or msgid), f"{lang} {msgid!r}: recompile"


def test_scripts_get_their_messages() -> None:
    messages = script_messages("zh-CN")
    assert messages["Acknowledge"] == "确认"
    assert "Daily alert briefing" not in messages  # Python-only: not sent to pages
    assert script_messages("en") == {}  # English ids are the English text


class _Visible(HTMLParser):
    """Text and human-facing attributes of a template, with Jinja markup removed."""

    ATTRS = ("placeholder", "title", "aria-label", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.ATTRS and value:
                self.found.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.found.append(data)


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
#: Words that are the same in every language here (units, hash names, the product name).
SAME = {"vms", "SHA-256", "sha256", "#", "·", "–", "→", "✓"}


@pytest.mark.parametrize("template", sorted((ROOT / "vms/web/templates").glob("*.html")))
def test_templates_have_no_untranslated_text(template: Path) -> None:
    parser = _Visible()
    parser.feed(JINJA.sub(" ", template.read_text()))
    words = [
        w
        for text in parser.found
        for w in text.split()
        if re.search("[A-Za-z]", w) and w.strip("().,:") not in SAME
    ]
    assert not words, f"{template.name}: text outside _() / trans: {words}"


@pytest.mark.parametrize(
    ("kind", "enum"),
    [
        ("event_type", EventType),
        ("severity", Severity),
        ("camera_kind", CameraKind),
        ("room_type", RoomType),
        ("alert_type", AlertType),
        ("risk", RiskLevel),
        ("role", Role),
        ("camera_state", CameraState),
    ],
)
def test_every_vocabulary_value_has_a_label(kind: str, enum: type[StrEnum]) -> None:
    assert set(LABELS[kind]) == {e.value for e in enum}
    zh = texts_for("zh-CN")
    for value in LABELS[kind]:
        assert zh.label(kind, value) != LABELS[kind][value], f"{kind} {value} untranslated"


@pytest.mark.parametrize(
    ("header", "site_zh", "site_en"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "zh-CN"),
        ("en-US,en;q=0.9", "en", "en"),
        ("zh-TW", "zh-CN", "zh-CN"),
        ("fr-FR,en;q=0.5,zh;q=0.7", "zh-CN", "zh-CN"),
        ("fr-FR", "zh-CN", "en"),  # none offered: the site's default
        ("en;q=0, zh;q=0", "zh-CN", "en"),
        (None, "zh-CN", "en"),
        ("en;q=bad, de", "zh-CN", "en"),
    ],
)
def test_the_browser_language_is_negotiated(header: str | None, site_zh: str, site_en: str) -> None:
    assert negotiate(header) == site_zh
    assert negotiate(header, default="en") == site_en


def test_times_are_local_with_their_zone() -> None:
    zh = texts_for("zh-CN", "Asia/Shanghai")
    at = datetime(2026, 11, 27, 20, 15, 2, tzinfo=UTC)
    assert zh.when(at) == "2026-11-28 04:15:02 UTC+8"  # the next local day
    assert zh.day_bounds(date(2026, 11, 28)) == (
        datetime(2026, 11, 27, 16, tzinfo=UTC),
        datetime(2026, 11, 28, 16, tzinfo=UTC),
    )
    ny = texts_for("en", "America/New_York")
    assert ny.when(datetime(2026, 7, 1, 12, tzinfo=UTC)) == "2026-07-01 08:00:00 UTC-4"
    assert zone_label(ny.tz, datetime(2026, 1, 1, tzinfo=UTC)) == "UTC-5"
    assert texts_for("en", "Asia/Kolkata").zone == "UTC+5:30"


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [
        (42, "42 s", "42秒"),
        (250, "4 min 10 s", "4分10秒"),
        (3 * 3600 + 300, "3 h 05 min", "3小时05分"),
        (26 * 86400 + 7 * 3600 + 59, "26 d 7 h", "26天7小时"),  # a huge gap: days and hours
    ],
)
def test_durations_read_at_a_glance(seconds: float, en: str, zh: str) -> None:
    assert texts_for("en").duration(seconds) == en
    assert texts_for("zh-CN").duration(seconds) == zh


SHADOW = re.compile(r"(?:const|let|var)\s+t\b|\(\s*t\s*[,)]|,\s*t\s*\)|\bt\s*=>|function\s+t\b")


@pytest.mark.parametrize("script", sorted((ROOT / "vms/web/static").glob("*.js")))
def test_scripts_never_hide_the_translation_function(script: Path) -> None:
    """A parameter or variable named ``t`` would hide ``t()`` and break its messages."""
    text = script.read_text()
    if script.name == "common.js":
        text = text.replace("function t(message, params)", "")
    assert not SHADOW.findall(text), f"{script.name} names something 't'"
