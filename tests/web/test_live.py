"""Live view: the camera's H.264 relayed to WebRTC viewers from the worker's own packets."""

from __future__ import annotations

import asyncio
from fractions import Fraction

import numpy as np
import pytest

from tests.support.waiting import wait_for
from tests.support.webrtc import LiveViewer
from tests.web.conftest import Served
from vms.evidence.audit import list_entries
from vms.web.live import AnnexB, Timeline

SPS = b"\x67\x64\x00\x1f\xac"
PPS = b"\x68\xee\x3c\x80"
IDR = b"\x65\x88\x84\x00\x33"
P = b"\x41\x9a\x02"
START = b"\x00\x00\x00\x01"


@pytest.mark.parametrize(
    ("extradata", "packet", "keyframe", "expected"),
    [
        # Annex-B with SPS/PPS in band: untouched.
        (
            None,
            START + SPS + START + PPS + START + IDR,
            True,
            START + SPS + START + PPS + START + IDR,
        ),
        # Annex-B, parameter sets only out of band (RTSP sprop): put before each keyframe.
        (START + SPS + START + PPS, START + IDR, True, START + SPS + START + PPS + START + IDR),
        (START + SPS + START + PPS, START + P, False, START + P),
        # avcC (MP4): length prefixes become start codes, parameter sets come from avcC.
        (
            b"\x01\x64\x00\x1f\xff\xe1"
            + len(SPS).to_bytes(2, "big")
            + SPS
            + b"\x01"
            + len(PPS).to_bytes(2, "big")
            + PPS,
            len(IDR).to_bytes(4, "big") + IDR,
            True,
            START + SPS + START + PPS + START + IDR,
        ),
    ],
    ids=["annexb-inband", "annexb-sprop-key", "annexb-sprop-delta", "avcc"],
)
def test_annexb_keeps_slices_and_adds_parameter_sets(
    extradata: bytes | None, packet: bytes, keyframe: bool, expected: bytes
) -> None:
    assert AnnexB(extradata).convert(packet, keyframe) == expected


def test_timeline_rises_through_a_reconnect() -> None:
    tl = Timeline()
    tl.restart(10.0)
    tb = Fraction(1, 90000)
    first = [tl.map(t, tb) for t in (0, 9000, 18000)]
    assert first == [0, 9000, 18000]
    tl.restart(10.0)  # the camera's clock starts again at 0 after a reconnect
    assert tl.map(0, tb) == 27000
    assert tl.map(9000, tb) == 36000
    assert tl.map(9000 + 90000 * 60, tb) == 45000  # a jump forward is smoothed too


def _nonblank(frame: object) -> float:
    gray = frame.to_ndarray(format="gray")  # type: ignore[attr-defined]
    return float(np.asarray(gray).std())


def test_live_view_relays_the_workers_packets_to_viewers(served: Served) -> None:
    cookie = served.cookie("supervisor")
    web = served.app.web
    assert web is not None
    state = web.app.state.web
    supervisor = served.app.supervisor
    assert supervisor is not None
    channel = supervisor.live_channel("street-1")
    assert channel is not None

    async def watch() -> tuple[list[object], list[object]]:
        async with (
            LiveViewer(served.url, cookie, "street-1") as one,
            LiveViewer(served.url, cookie, "street-1") as two,
        ):
            a = [await one.frame() for _ in range(20)]
            b = [await two.frame() for _ in range(5)]
            assert state.live.viewers() == {"street-1": 2}
            assert channel.wanted.value > 0  # the worker is copying its packets to us
        return a, b

    frames, second = asyncio.run(watch())
    assert (frames[0].width, frames[0].height) == (768, 432)  # type: ignore[attr-defined]
    assert _nonblank(frames[-1]) > 10
    assert _nonblank(second[-1]) > 10
    pts = [f.pts for f in frames]  # type: ignore[attr-defined]
    assert pts == sorted(pts)
    assert pts[-1] > pts[0]
    # One upstream reader for both viewers, and it stops once the last one has gone.
    wait_for(
        "the upstream reader to stop after the last viewer",
        lambda: state.live.source("street-1") is None and channel.wanted.value == 0,
        30,
        poll=0.1,
    )

    async def watch_again() -> object:
        async with LiveViewer(served.url, cookie, "street-1") as again:
            return await again.frame()

    # A new watch starts afresh (header, keyframe) however soon after the last one.
    assert _nonblank(asyncio.run(watch_again())) > 10
    assert _nonblank(asyncio.run(watch_again())) > 10
    starts = [
        (e.actor, e.action, e.object_id) for e in list_entries(served.db, object_type="camera")
    ]
    assert starts.count(("supervisor", "view", "street-1")) >= 2


def test_an_unknown_camera_or_a_bad_offer_is_an_error(served: Served) -> None:
    import httpx

    cookies = {"vms_session": served.cookie("supervisor")}
    headers = {"X-Requested-With": "vms"}
    with httpx.Client(base_url=served.url, cookies=cookies, headers=headers) as client:
        res = client.post("/api/live/nope/offer", json={"sdp": "v=0", "type": "offer"})
        assert res.status_code == 404
        # A malformed offer is the caller's error, named (issue 11: never a 5xx from input).
        res = client.post("/api/live/street-1/offer", json={"sdp": "v=0\r\n", "type": "offer"})
        assert res.status_code == 400
        assert res.json()["message"].startswith("body sdp: ")
