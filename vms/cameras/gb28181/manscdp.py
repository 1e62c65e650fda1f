"""MANSCDP (GB/T 28181 Annex A) XML bodies: the queries vms sends, the answers it reads.

Bodies declare GB2312 (sometimes UTF-8); they are decoded with GB18030 (a superset) before
parsing, since expat reads no multi-byte Chinese encoding. DTDs and entities are refused
outright: a device has no business sending them, and they are how XML bombs work.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from defusedxml.ElementTree import ParseError, fromstring

CONTENT_TYPE = "Application/MANSCDP+xml"
MAX_BODY = 256 * 1024
MAX_ITEMS = 4096
_PROLOG = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_-]+)[\"'][^>]*\?>")
_GB_ID = re.compile(r"^\d{20}$")


class ManscdpError(ValueError):
    """A body that is not a MANSCDP message vms understands."""


def query(cmd: str, sn: int, device_id: str) -> bytes:
    """A ``<Query>`` (Catalog, DeviceInfo, DeviceStatus) for ``device_id``."""
    return (
        '<?xml version="1.0" encoding="GB2312"?>\r\n'
        f"<Query>\r\n<CmdType>{cmd}</CmdType>\r\n<SN>{sn}</SN>\r\n"
        f"<DeviceID>{device_id}</DeviceID>\r\n</Query>\r\n"
    ).encode("gb18030")


@dataclass(frozen=True)
class Message:
    """The root element (Notify, Response, Query, Control), CmdType, SN and DeviceID."""

    root: str
    cmd: str
    sn: int
    device_id: str
    element: ET.Element = field(repr=False, compare=False)

    def text(self, tag: str, default: str = "") -> str:
        node = self.element.find(tag)
        return (node.text or "").strip()[:256] if node is not None else default


@dataclass(frozen=True)
class CatalogItem:
    """One channel (or sub-device) listed by a Catalog response."""

    channel_id: str
    name: str
    manufacturer: str
    model: str
    status: str
    parent_id: str
    civil_code: str
    address: str


@dataclass(frozen=True)
class Catalog:
    device_id: str
    sn: int
    sum_num: int
    items: list[CatalogItem]


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    name: str
    manufacturer: str
    model: str
    firmware: str
    channels: int | None


def parse(body: bytes) -> Message:
    """Parse a MANSCDP body; raise ManscdpError."""
    if len(body) > MAX_BODY:
        raise ManscdpError("body too large")
    m = _PROLOG.match(body)
    encoding = m.group(1).decode().lower() if m else "utf-8"
    if encoding in ("gb2312", "gbk", "gb18030"):
        encoding = "gb18030"
    elif encoding not in ("utf-8", "utf8"):
        raise ManscdpError(f"unsupported XML encoding {encoding!r}")
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        try:
            text = body.decode("gb18030")  # devices that say UTF-8 and send GB2312
        except UnicodeDecodeError as exc:
            raise ManscdpError("body is not text in its declared encoding") from exc
    if "<!" in text:
        raise ManscdpError("DTDs, entities and CDATA are not accepted")
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    try:
        root = fromstring(text)
    except ParseError as exc:
        raise ManscdpError(f"not well-formed XML: {exc}") from exc
    cmd = (root.findtext("CmdType") or "").strip()
    sn_text = (root.findtext("SN") or "").strip()
    device_id = (root.findtext("DeviceID") or "").strip()
    if root.tag not in ("Notify", "Response", "Query", "Control"):
        raise ManscdpError(f"unknown root element <{root.tag[:40]}>")
    if not cmd:
        raise ManscdpError("no CmdType")
    if not sn_text.isdigit() or len(sn_text) > 10:
        raise ManscdpError(f"bad SN {sn_text[:20]!r}")
    if not _GB_ID.match(device_id):
        raise ManscdpError(f"bad DeviceID {device_id[:30]!r}")
    return Message(root.tag, cmd, int(sn_text), device_id, root)


def catalog(msg: Message) -> Catalog:
    """The channels of a Catalog response (one of possibly several MESSAGEs)."""
    sum_text = msg.text("SumNum", "0")
    if not sum_text.isdigit() or int(sum_text) > MAX_ITEMS:
        raise ManscdpError(f"bad SumNum {sum_text[:20]!r}")
    items: list[CatalogItem] = []
    device_list = msg.element.find("DeviceList")
    for node in [] if device_list is None else device_list.findall("Item"):
        channel_id = (node.findtext("DeviceID") or "").strip()
        if not _GB_ID.match(channel_id):
            continue  # an item without a usable id cannot be played: skip it, keep the rest

        def t(tag: str, node: ET.Element = node) -> str:
            return (node.findtext(tag) or "").strip()[:200]

        items.append(
            CatalogItem(
                channel_id,
                t("Name"),
                t("Manufacturer"),
                t("Model"),
                t("Status").upper() or "ON",
                t("ParentID"),
                t("CivilCode"),
                t("Address"),
            )
        )
    if len(items) > MAX_ITEMS:
        raise ManscdpError("too many catalog items")
    return Catalog(msg.device_id, msg.sn, int(sum_text), items)


def device_info(msg: Message) -> DeviceInfo:
    channels = msg.text("Channel")
    return DeviceInfo(
        msg.device_id,
        msg.text("DeviceName"),
        msg.text("Manufacturer"),
        msg.text("Model"),
        msg.text("Firmware"),
        int(channels) if channels.isdigit() and len(channels) < 7 else None,
    )
