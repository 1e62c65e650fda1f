"""The strict SIP codec: what it accepts, what it refuses (answer or drop), and fuzzing."""

from __future__ import annotations

import contextlib

import pytest

from tests.cameras.gb28181.corpus import DEVICE, corpus, message, register
from vms.cameras.gb28181.sip import (
    Address,
    Request,
    Response,
    SipError,
    SipUri,
    StreamFramer,
    parse,
    response_to,
)


def test_a_gb28181_register_parses_with_its_numeric_domain() -> None:
    msg = parse(register())
    assert isinstance(msg, Request)
    assert msg.method == "REGISTER"
    assert msg.uri == SipUri("3402000000", "34020000002000000001")
    assert msg.from_.uri.user == DEVICE
    assert msg.from_.tag == "abc"
    assert msg.cseq == (1, "REGISTER")
    assert msg.expires == 3600
    via = msg.vias[0]
    assert (via.transport, via.host, via.port, via.branch) == ("UDP", "127.0.0.1", 5062, "z9hG4bK1")


def test_compact_headers_folding_and_body_by_content_length() -> None:
    data = (
        b"MESSAGE sip:a@3402000000 SIP/2.0\r\nv: SIP/2.0/TCP 10.0.0.1:5060;branch=z9hG4bKx\r\n"
        b"f: <sip:b@3402000000>;tag=1\r\nt: <sip:a@3402000000>\r\ni: c1\r\nCSeq: 2\r\n MESSAGE\r\n"
        b"c: Application/MANSCDP+xml\r\nl: 3\r\n\r\nabcdef"
    )
    msg = parse(data)
    assert msg.call_id == "c1"
    assert msg.cseq == (2, "MESSAGE")
    assert msg.body == b"abc"
    assert msg.content_type == "application/manscdp+xml"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"garbage\r\n\r\n", None),
        (register().replace(b"Content-Length: 0", b"Content-Length: 99"), 400),
        (register().replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"), 400),
        (register().replace(b"Call-ID: 1011047669\r\n", b""), None),
        (register().replace(b"Max-Forwards: 70", b"Max-Forwards 70"), 400),
        (register().replace(b"To:", b"To: <sip:x@y>\r\nTo:"), 400),
        (register().replace(b" SIP/2.0\r\n", b" SIP/3.0\r\n", 1), None),
        (register().replace(b"sip:34020000002000000001@3402000000 SIP", b"sip:@@ SIP"), 400),
        (register().replace(b"REGISTER sip", b"REG\x00STER sip"), None),
        (b"SIP/2.0 99 Small\r\n\r\n", None),
        (b"x" * 300_000 + b"\r\n\r\n", 413),
    ],
)
def test_malformed_messages_are_refused_with_a_status_or_dropped(
    data: bytes, status: int | None
) -> None:
    with pytest.raises(SipError) as err:
        parse(data)
    answer = err.value.status if err.value.request is not None else None
    if status == 413:
        assert err.value.status == 413
    else:
        assert answer == status, err.value.reason


def test_a_response_echoes_the_request_and_adds_our_tag() -> None:
    req = parse(register())
    assert isinstance(req, Request)
    resp = response_to(req, 401, "Unauthorized", to_tag="t1")
    back = parse(resp.encode())
    assert isinstance(back, Response)
    assert (back.status, back.call_id, back.cseq) == (401, "1011047669", (1, "REGISTER"))
    assert back.to.tag == "t1"
    assert back.vias[0].branch == "z9hG4bK1"


def test_addresses_with_display_names_and_parameters() -> None:
    addr = Address.parse('"通道 1" <sip:34020000001310000001@3402000000:5060>;tag=9')
    assert addr.display == "通道 1"
    assert addr.uri.port == 5060
    assert addr.tag == "9"
    with pytest.raises(SipError):
        Address.parse("<sip:a@b")


def test_tcp_framing_by_content_length_and_keepalive_crlf() -> None:
    framer = StreamFramer()
    one, two = register(), message()
    stream = b"\r\n\r\n" + one + two
    got = framer.feed(stream[:50]) + framer.feed(stream[50:300]) + framer.feed(stream[300:])
    assert got == [one, two]
    with pytest.raises(SipError):
        StreamFramer().feed(b"REGISTER sip:a@b SIP/2.0\r\nVia: x\r\n\r\n")


def test_a_fuzzed_corpus_only_ever_raises_sip_error() -> None:
    """1,200 malformed messages: each parses or raises SipError; nothing else escapes."""
    messages = corpus()
    assert len(messages) >= 1000
    refused = 0
    unanswerable = []
    for data in messages:
        try:
            parse(data)
        except SipError as exc:
            refused += 1
            if exc.request is not None:
                if exc.status is None:
                    unanswerable.append(data)
                else:
                    response_to(exc.request, exc.status, "x").encode()  # the answer builds
        with contextlib.suppress(SipError):
            StreamFramer().feed(data)
    assert unanswerable == []
    assert refused > len(messages) * 0.8
