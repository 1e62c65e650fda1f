"""A deterministic corpus of malformed SIP messages, mutated from real GB/T 28181 traffic."""

from __future__ import annotations

import random

DEVICE = "34020000001320000001"
PLATFORM = "34020000002000000001"

KEEPALIVE_BODY = (
    '<?xml version="1.0" encoding="GB2312"?>\r\n<Notify><CmdType>Keepalive</CmdType>'
    f"<SN>1</SN><DeviceID>{DEVICE}</DeviceID><Status>OK</Status></Notify>\r\n"
).encode()


def register(branch: str = "z9hG4bK1", auth: str | None = None, expires: int = 3600) -> bytes:
    lines = [
        f"REGISTER sip:{PLATFORM}@3402000000 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5062;rport;branch={branch}",
        f"From: <sip:{DEVICE}@3402000000>;tag=abc",
        f"To: <sip:{DEVICE}@3402000000>",
        "Call-ID: 1011047669",
        "CSeq: 1 REGISTER",
        f"Contact: <sip:{DEVICE}@127.0.0.1:5062>",
        "Max-Forwards: 70",
        f"Expires: {expires}",
    ]
    if auth:
        lines.append(f"Authorization: {auth}")
    return ("\r\n".join([*lines, "Content-Length: 0", "", ""])).encode()


def message(body: bytes = KEEPALIVE_BODY, branch: str = "z9hG4bK2") -> bytes:
    head = "\r\n".join(
        [
            f"MESSAGE sip:{PLATFORM}@3402000000 SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:5062;rport;branch={branch}",
            f"From: <sip:{DEVICE}@3402000000>;tag=k1",
            f"To: <sip:{PLATFORM}@3402000000>",
            "Call-ID: 9a8b7c",
            "CSeq: 20 MESSAGE",
            "Content-Type: Application/MANSCDP+xml",
            "Max-Forwards: 70",
            f"Content-Length: {len(body)}",
            "",
            "",
        ]
    )
    return head.encode() + body


HANDWRITTEN: list[bytes] = [
    b"",
    b"\r\n\r\n",
    b"garbage\r\n\r\n",
    b"REGISTER\r\n\r\n",
    b"REGISTER sip:x SIP/2.0\r\n\r\n",
    b"REGISTER sip:x SIP/3.0\r\nVia: SIP/2.0/UDP h\r\n\r\n",
    b"SIP/2.0 99 Too Small\r\n\r\n",
    b"SIP/2.0 abc OK\r\nVia: SIP/2.0/UDP h;branch=x\r\n\r\n",
    register().replace(b"Content-Length: 0", b"Content-Length: 99"),
    register().replace(b"Content-Length: 0", b"Content-Length: -1"),
    register().replace(b"Content-Length: 0", b"Content-Length: 99999999999"),
    register().replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"),
    register().replace(b"CSeq: 1 REGISTER", b"CSeq: one REGISTER"),
    register().replace(b"Call-ID: 1011047669\r\n", b""),
    register().replace(b"Via: ", b"Via: garbage "),
    register().replace(b"Via: SIP/2.0/UDP 127.0.0.1:5062", b"Via: SIP/2.0/UDP 127.0.0.1:99999"),
    register().replace(b"<sip:", b"<http:", 1),
    register().replace(b"From: <sip:", b"From: sip:<<"),
    register().replace(b"sip:34020000002000000001@3402000000 SIP", b"sip:@@ SIP"),
    register().replace(b"Expires: 3600", b"Expires: forever"),
    register().replace(b"Max-Forwards: 70", b"Max-Forwards 70"),
    register().replace(b"\r\n", b"\n"),
    register().replace(b"To:", b"To: x\r\nTo:"),
    register(auth="Basic dXNlcjpwYXNz"),
    register(auth='Digest username="x"'),
    register(auth='Digest username="a", realm="b", nonce="c", uri="d", response="e", qop=auth'),
    register(auth="Digest ,,,=,="),
    register(
        auth='Digest username="a", realm="b", nonce="c", uri="d", response="e", algorithm=SHA'
    ),
    register() + b"\x00" * 10,
    b"REGISTER sip:a@b SIP/2.0\r\n" + b"X: " + b"a" * 10000 + b"\r\n\r\n",
    b"REGISTER sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 300 + b"\r\n",
    b"\xff\xfe\xfd\r\n\r\n",
    register().replace(b"REGISTER sip", b"REG\x00STER sip"),
    message(b"<Notify><CmdType>Keepalive</CmdType></Notify>"),
    message(b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b 'c'>]><Notify>&b;</Notify>"),
    message(b"<Notify><CmdType>Catalog</CmdType><SN>x</SN><DeviceID>1</DeviceID></Notify>"),
    message(
        b"<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>"
        + DEVICE.encode()
        + b"</DeviceID><SumNum>999999</SumNum></Response>"
    ),
    message(b"not xml at all <<<"),
    message(b'<?xml version="1.0" encoding="EBCDIC"?><Notify/>'),
    message(b"\xff\xfe<\x00N\x00"),
    message().replace(b"Application/MANSCDP+xml", b"text/plain"),
    b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=q\r\nFrom: <sip:a@b>\r\nTo: <sip:c@d>\r\n"
    b"Call-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
    b"ACK sip:a@b SIP/2.0\r\nVia: garbage\r\n\r\n",
    b"BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=q\r\nFrom: <sip:a@b>\r\nTo: <sip:c@d>\r\n"
    b"Call-ID: nope\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=unknown\r\nFrom: <sip:a@b>\r\nTo: <sip:c@d>\r\n"
    b"Call-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    op = rng.randrange(9)
    if op == 0 and buf:  # flip bytes
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif op == 1:  # truncate
        del buf[rng.randrange(len(buf) + 1) :]
    elif op == 2:  # drop a line
        lines = bytes(buf).split(b"\r\n")
        del lines[rng.randrange(len(lines))]
        buf = bytearray(b"\r\n".join(lines))
    elif op == 3:  # duplicate a line
        lines = bytes(buf).split(b"\r\n")
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
        buf = bytearray(b"\r\n".join(lines))
    elif op == 4:  # insert junk
        i = rng.randrange(len(buf) + 1)
        buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    elif op == 5:  # swap two lines
        lines = bytes(buf).split(b"\r\n")
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        buf = bytearray(b"\r\n".join(lines))
    elif op == 6:  # a header's value replaced by junk
        lines = bytes(buf).split(b"\r\n")
        i = rng.randrange(len(lines))
        name = lines[i].split(b":", 1)[0]
        lines[i] = name + b": " + bytes(rng.choice(b'<>;=",@:% \t\xff') for _ in range(12))
        buf = bytearray(b"\r\n".join(lines))
    elif op == 7:  # a special character sprinkled
        for _ in range(rng.randint(1, 5)):
            buf.insert(rng.randrange(len(buf) + 1), rng.choice(b'\r\n\x00<>;"'))
    else:  # random bytes
        buf = bytearray(rng.randbytes(rng.randint(0, 600)))
    return bytes(buf)


def corpus(n: int = 1200, seed: int = 28181) -> list[bytes]:
    """``n`` malformed or hostile messages: the handwritten ones, then mutations."""
    rng = random.Random(seed)
    seeds = [register(), register(auth='Digest username="a"'), message(), *HANDWRITTEN]
    out = list(HANDWRITTEN)
    while len(out) < n:
        data = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            data = _mutate(rng, data)
        out.append(data)
    return out
