"""A strict SIP (RFC 3261) message codec for the subset GB/T 28181 uses.

Why not a library: ``sipmessage`` (Spacinov, BSD, the one maintained pure-Python parser)
follows RFC 3261's host grammar, whose top label must start with a letter, and so refuses
every GB/T 28181 address (``sip:34020000001320000001@3402000000``: the domain is 10 digits);
``aiosipua`` is a voice-call user agent whose parser accepts a body shorter than its
Content-Length and header lines without a colon, and has no registrar side. This module
parses only what a platform receives from devices and refuses everything else with a reason:
a request that can be answered gets a 4xx (``SipError.status``), anything else is dropped.

    parse(datagram) -> Request | Response          raises SipError
    StreamFramer().feed(tcp_bytes) -> [message bytes]  (Content-Length framing)
    Request(...).encode() / Response(...).encode()
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Largest message accepted (UDP datagrams are at most 64 KiB; a catalog may be long on TCP).
MAX_MESSAGE = 256 * 1024
MAX_HEADERS = 128
MAX_HEADER_LINE = 8192

COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
}
_CANONICAL = {
    n.lower(): n
    for n in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Type",
        "Content-Length",
        "Max-Forwards",
        "Expires",
        "Authorization",
        "WWW-Authenticate",
        "User-Agent",
        "Date",
        "Subject",
        "Allow",
        "Supported",
        "Route",
        "Record-Route",
    )
}
_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"  # noqa: S105 -- the RFC 3261 token grammar
_TOKEN_RE = re.compile(_TOKEN)
_METHOD_RE = re.compile(r"^[A-Z]{2,16}$")
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-.]{0,251}[A-Za-z0-9])?)"
_URI_RE = re.compile(
    r"^(?P<scheme>sips?):(?:(?P<user>[A-Za-z0-9\-_.!~*'()&=+$,;?/%]{1,128})"
    r"(?::[^@]{0,128})?@)?(?P<host>" + _HOST + r")(?::(?P<port>\d{1,5}))?"
    r"(?P<params>(?:;[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]+(?:=[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]*)?)*)$"
)
_VIA_RE = re.compile(
    r"^SIP\s*/\s*2\.0\s*/\s*(?P<transport>[A-Za-z]{2,8})\s+(?P<host>"
    + _HOST
    + r")(?:\s*:\s*(?P<port>\d{1,5}))?(?P<params>(?:\s*;\s*[^;,\s=]+(?:\s*=\s*[^;,\s]+)?)*)\s*$"
)
_CSEQ_RE = re.compile(r"^(?P<seq>\d{1,10})\s+(?P<method>[A-Z]{2,16})$")


class SipError(ValueError):
    """A message that cannot be used. ``status``: the 4xx to answer with, or None to drop it."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.request: Request | None = None  # set when a 4xx can be built for it


def _params(text: str, where: str) -> dict[str, str]:
    """``;a=1;b`` -> {"a": "1", "b": ""} (keys lower-cased)."""
    out: dict[str, str] = {}
    for part in text.split(";")[1:]:
        part = part.strip()
        if not part:
            raise SipError(f"empty parameter in {where}", 400)
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if not _TOKEN_RE.fullmatch(key):
            raise SipError(f"bad parameter name {key!r} in {where}", 400)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        out[key] = value
    return out


@dataclass(frozen=True)
class SipUri:
    """``sip:user@host:port;params``."""

    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        m = _URI_RE.match(text.strip())
        if m is None:
            raise SipError(f"not a SIP URI: {text[:80]!r}", 400)
        port = int(m["port"]) if m["port"] else None
        if port is not None and not 0 < port < 65536:
            raise SipError(f"port out of range in {text[:80]!r}", 400)
        return cls(m["host"], m["user"], port, m["scheme"], _params(m["params"], "URI"))

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"{self.scheme}:{user}{self.host}{port}{params}"


@dataclass(frozen=True)
class Address:
    """A From/To/Contact value: ``"name" <sip:...>;tag=x``."""

    uri: SipUri
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Address:
        text = text.strip()
        if "<" in text:
            display, _, rest = text.partition("<")
            uri, sep, tail = rest.partition(">")
            if not sep:
                raise SipError(f"unclosed '<' in {text[:80]!r}", 400)
            display = display.strip().strip('"')
            if tail.strip() and not tail.strip().startswith(";"):
                raise SipError(f"junk after '>' in {text[:80]!r}", 400)
            return cls(SipUri.parse(uri), display, _params(tail.strip(), "address"))
        # addr-spec without angle brackets: parameters belong to the header, not the URI
        uri, _, tail = text.partition(";")
        return cls(SipUri.parse(uri), "", _params(";" + tail if tail else "", "address"))

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        name = f'"{self.display}" ' if self.display else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"{name}<{self.uri}>{params}"


@dataclass(frozen=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Via:
        m = _VIA_RE.match(text.strip())
        if m is None:
            raise SipError(f"bad Via: {text[:80]!r}", 400)
        port = int(m["port"]) if m["port"] else None
        if port is not None and not 0 < port < 65536:
            raise SipError("Via port out of range", 400)
        return cls(m["transport"].upper(), m["host"], port, _params(m["params"], "Via"))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")


@dataclass
class Message:
    """Headers in arrival order (canonical names), and the body as bytes."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def get(self, name: str) -> str | None:
        key = name.lower()
        for k, v in self.headers:
            if k.lower() == key:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for k, v in self.headers if k.lower() == key]

    def need(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise SipError(f"missing {name} header", 400)
        return value

    def set(self, name: str, value: str) -> None:
        key = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != key]
        self.headers.append((name, value))

    def add(self, name: str, value: str) -> None:
        self.headers.append((name, value))

    # Typed views, parsed on use (each raises SipError)
    @property
    def call_id(self) -> str:
        return self.need("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        m = _CSEQ_RE.match(self.need("CSeq").strip())
        if m is None:
            raise SipError("bad CSeq", 400)
        return int(m["seq"]), m["method"]

    @property
    def from_(self) -> Address:
        return Address.parse(self.need("From"))

    @property
    def to(self) -> Address:
        return Address.parse(self.need("To"))

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for value in self.get_all("Via") for v in _split_commas(value)]

    @property
    def expires(self) -> int | None:
        value = self.get("Expires")
        if value is None:
            return None
        if not value.strip().isdigit() or len(value.strip()) > 10:
            raise SipError("bad Expires", 400)
        return int(value)

    @property
    def content_type(self) -> str:
        return (self.get("Content-Type") or "").split(";")[0].strip().lower()

    def _encode(self, start: str) -> bytes:
        lines = [start]
        lines += [f"{k}: {v}" for k, v in self.headers if k.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass
class Request(Message):
    method: str = ""
    uri: SipUri = field(default_factory=lambda: SipUri("invalid"))

    def encode(self) -> bytes:
        return self._encode(f"{self.method} {self.uri} SIP/2.0")


@dataclass
class Response(Message):
    status: int = 200
    reason: str = "OK"

    def encode(self) -> bytes:
        return self._encode(f"SIP/2.0 {self.status} {self.reason}")


def _split_commas(value: str) -> list[str]:
    """Split a header value on commas outside quotes and angle brackets."""
    parts: list[str] = []
    cur: list[str] = []
    depth, quoted = 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and not quoted and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")


def parse(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one whole message; raise SipError. ``stream``: it came over TCP (framed already)."""
    if len(data) > MAX_MESSAGE:
        raise SipError(f"message of {len(data)} bytes is too large", 413)
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipError("no blank line after the headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:  # display names from Chinese devices
            text = head.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise SipError("headers are not text") from exc
    if "\x00" in text:
        raise SipError("NUL byte in the headers")
    raw_lines = text.split("\r\n")
    start = raw_lines[0]
    lines: list[str] = []
    for line in raw_lines[1:]:
        if len(line) > MAX_HEADER_LINE:
            raise SipError("header line too long", 400)
        if line[:1] in (" ", "\t"):  # folded continuation of the previous header
            if not lines:
                raise SipError("continuation line before any header", 400)
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    if len(lines) > MAX_HEADERS:
        raise SipError("too many headers", 400)
    msg: Request | Response
    parts = start.split(" ", 2)
    if len(parts) == 3 and parts[2] == "SIP/2.0":
        method, uri = parts[0], parts[1]
        if not _METHOD_RE.match(method):
            raise SipError(f"bad method {method[:20]!r}")
        msg = Request(method=method, uri=SipUri("invalid"))
        request_uri = uri
    elif len(parts) >= 2 and parts[0] == "SIP/2.0":
        code = parts[1]
        if not (len(code) == 3 and code.isdigit() and 100 <= int(code) <= 699):
            raise SipError(f"bad status code {code[:10]!r}")
        msg = Response(status=int(code), reason=parts[2] if len(parts) == 3 else "")
        request_uri = None
    else:
        raise SipError(f"neither a request nor a response: {start[:60]!r}")
    problem: SipError | None = None  # the first bad line; the rest is kept to answer 400
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _TOKEN_RE.fullmatch(name):
            problem = problem or SipError(f"bad header line {line[:60]!r}", 400)
            continue
        name = COMPACT.get(name.lower(), _CANONICAL.get(name.lower(), name))
        msg.headers.append((name, value.strip()))
    try:
        if problem is not None:
            raise problem
        for name in REQUIRED:
            if name in ("From", "To", "Call-ID", "CSeq") and len(msg.get_all(name)) > 1:
                raise SipError(f"{name} appears more than once", 400)
            msg.need(name)
        length_text = msg.get("Content-Length")
        if length_text is None:
            if stream:
                raise SipError("missing Content-Length on a stream transport", 400)
            length = len(body)
        else:
            if not length_text.isdigit() or len(length_text) > 7:
                raise SipError("bad Content-Length", 400)
            length = int(length_text)
            if length > len(body):
                raise SipError(
                    f"body of {len(body)} bytes is shorter than Content-Length {length}", 400
                )
        msg.body = body[:length]
        _seq, cseq_method = msg.cseq
        vias = msg.vias
        if not vias:
            raise SipError("empty Via", 400)
        msg.from_, msg.to  # noqa: B018  (parse them now: a bad one is refused here)
        if isinstance(msg, Request):
            assert request_uri is not None
            msg.uri = SipUri.parse(request_uri)
            if cseq_method != msg.method:
                raise SipError(f"CSeq method {cseq_method} is not {msg.method}", 400)
    except SipError as exc:
        if isinstance(msg, Request) and exc.status is not None and _answerable(msg):
            exc.request = msg
        else:
            exc.status = None
        raise
    return msg


def _answerable(msg: Request) -> bool:
    """Enough is intact to build a response (RFC 3261 8.2.6) that the sender can match."""
    if msg.method == "ACK":
        return False  # never answered
    try:
        return bool(msg.vias) and all(msg.get(h) for h in REQUIRED)
    except SipError:
        return False


def response_to(req: Request, status: int, reason: str, *, to_tag: str | None = None) -> Response:
    """A response carrying the request's Via, From, To (with our tag), Call-ID and CSeq."""
    resp = Response(status=status, reason=reason)
    for value in req.get_all("Via"):
        resp.add("Via", value)
    resp.add("From", req.need("From"))
    to = req.need("To")
    if to_tag and ";tag=" not in to.replace(" ", ""):
        to = f"{to};tag={to_tag}"
    resp.add("To", to)
    resp.add("Call-ID", req.need("Call-ID"))
    resp.add("CSeq", req.need("CSeq"))
    return resp


class StreamFramer:
    """Cuts a TCP byte stream into messages by Content-Length; raises SipError on bad framing."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            # CRLF keep-alives (RFC 5626) between messages
            while self._buf[:2] == b"\r\n":
                del self._buf[:2]
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > MAX_HEADERS * MAX_HEADER_LINE // 8:
                    raise SipError("headers too long")
                return out
            head = bytes(self._buf[:end]).decode("latin-1")
            m = re.search(r"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d{1,7})[ \t]*$", head)
            if m is None:
                raise SipError("missing Content-Length on a stream transport")
            total = end + 4 + int(m.group(1))
            if total > MAX_MESSAGE:
                raise SipError("message too large")
            if len(self._buf) < total:
                return out
            out.append(bytes(self._buf[:total]))
            del self._buf[:total]
