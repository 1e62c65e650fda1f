"""The packet timeline, table by table: what happens to each packet of a connection.

Video: 90 kHz time base, 10 fps (9000 ticks a frame). Audio: 8 kHz, 20 ms packets (160).
Each row feeds packets (name, track, dts, keyframe, duration, now) and lists, for every packet
placed (held ones when they are released), ``name verdict tick`` and ``cut`` where a segment
starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest

from vms.cameras.timeline import PacketTimeline, Verdict

V, A = 0, 1
F = 9000  # one video frame
S = 90_000  # one second of video ticks
T0 = 1_700_000_000.0  # wall time at the first packet


@dataclass(frozen=True)
class P:
    name: str
    track: int
    dts: int | None
    key: bool = False
    duration: int = 0
    now: float = 0.0  # seconds after T0


def video(
    name: str, dts: int | None, key: bool = False, *, duration: int = 0, now: float = 0.0
) -> P:
    return P(name, V, dts, key, duration, now)


def audio(name: str, dts: int | None, *, now: float = 0.0) -> P:
    return P(name, A, dts, True, 160, now)


def run(
    packets: list[P],
    *,
    tracks: int = 1,
    fps: float | None = 10.0,
    segment_s: float | None = 60.0,
    not_before: float | None = None,
    audio_expected: bool = False,
) -> tuple[list[str], PacketTimeline[str]]:
    tbs = [Fraction(1, 90000), Fraction(1, 8000)][:tracks]
    tl: PacketTimeline[str] = PacketTimeline(
        tbs, fps=fps, segment_s=segment_s, not_before=not_before, audio_expected=audio_expected
    )
    out: list[str] = []

    def note(name: str, verdict: Verdict, tick: int, cut: bool, close: bool) -> None:
        if verdict is Verdict.HOLD:
            return
        if close:
            out.append("close previous")
        placed = verdict in (Verdict.WRITE, Verdict.PREVIOUS)
        text = f"{name} {verdict.name}" + (f" {tick}" if placed else "")
        out.append(text + (" cut" if cut else ""))

    for p in packets:
        verdict = tl.feed(p.name, p.track, p.dts, p.key, p.duration, T0 + p.now)
        for r in tl.released:
            note(r.item, r.verdict, r.tick, r.cut, r.close_previous)
        note(p.name, verdict, tl.tick, tl.cut, tl.close_previous)
        for r in tl.then:
            note(r.item, r.verdict, r.tick, r.cut, r.close_previous)
        if tl.audio_lost is not None:
            out.append(f"audio lost at {tl.audio_lost - T0:.2f}")
        if tl.audio_back is not None:
            out.append(f"audio back at {tl.audio_back - T0:.2f}")
    for r in tl.drain():
        note(r.item, r.verdict, r.tick, r.cut, r.close_previous)
        out[-1] += " (drained)"
    return out, tl


VIDEO_CASES = {
    "packets before the first keyframe are skipped": (
        [video("p1", 0), video("p2", F), video("k", 2 * F, True), video("p3", 3 * F)],
        ["p1 SKIP_BEFORE_KEY", "p2 SKIP_BEFORE_KEY", f"k WRITE {2 * F} cut", f"p3 WRITE {3 * F}"],
    ),
    "a first keyframe without DTS is dated one frame before the next packet": (
        [video("k", None, True), video("p1", 5 * F), video("p2", 6 * F)],
        [f"k WRITE {4 * F} cut", f"p1 WRITE {5 * F}", f"p2 WRITE {6 * F}"],
    ),
    "... by the next packet's duration when it has one": (
        [video("k", None, True), video("p1", 100, duration=3000)],
        ["k WRITE -2900 cut", "p1 WRITE 100"],
    ),
    "two packets without DTS: neither can be dated": (
        [video("k", None, True), video("p1", None), video("k2", 2 * F, True)],
        ["k SKIP_NO_TIMESTAMP", "p1 SKIP_BEFORE_KEY", f"k2 WRITE {2 * F} cut"],
    ),
    "a non-keyframe without DTS before the first keyframe is skipped": (
        [video("p", None), video("k", F, True)],
        ["p SKIP_BEFORE_KEY", f"k WRITE {F} cut"],
    ),
    "backward DTS: re-anchored one frame after the previous packet, nothing lost": (
        [video("k", 0, True), video("p1", F), video("back", 0), video("p2", F)],
        ["k WRITE 0 cut", f"p1 WRITE {F}", f"back WRITE {2 * F}", f"p2 WRITE {3 * F}"],
    ),
    "a forward jump over 10 s: re-anchored, the segment goes on": (
        [
            video("k", 0, True),
            video("p1", F),
            video("jump", F + 20 * S),
            video("p2", 2 * F + 20 * S),
        ],
        ["k WRITE 0 cut", f"p1 WRITE {F}", f"jump WRITE {2 * F}", f"p2 WRITE {3 * F}"],
    ),
    "a forward jump up to 10 s is real time and kept": (
        [video("k", 0, True), video("p1", 10 * S)],
        ["k WRITE 0 cut", f"p1 WRITE {10 * S}"],
    ),
    "a jump while the wall clock ran on lands at the wall clock": (
        [video("k", 0, True), video("p1", F, now=0.1), video("jump", 50 * S, now=30.0)],
        ["k WRITE 0 cut", f"p1 WRITE {F}", f"jump WRITE {30 * S}"],
    ),
    "MPEG-TS timestamps wrap at 2^33: unwrapped": (
        [video("k", (1 << 33) - F, True), video("wrapped", 0), video("p", F)],
        [f"k WRITE {(1 << 33) - F} cut", f"wrapped WRITE {1 << 33}", f"p WRITE {(1 << 33) + F}"],
    ),
    "RTP timestamps wrap at 2^32: unwrapped": (
        [video("k", (1 << 32) - F, True), video("wrapped", 0)],
        [f"k WRITE {(1 << 32) - F} cut", f"wrapped WRITE {1 << 32}"],
    ),
    "missing DTS mid-stream: one frame after the last": (
        [video("k", 0, True, duration=F), video("p1", None), video("p2", 2 * F)],
        ["k WRITE 0 cut", f"p1 WRITE {F}", f"p2 WRITE {2 * F}"],
    ),
}


@pytest.mark.parametrize(("packets", "expected"), VIDEO_CASES.values(), ids=VIDEO_CASES.keys())
def test_video_timeline(packets: list[P], expected: list[str]) -> None:
    assert run(packets)[0] == expected


def test_a_keyframe_without_dts_and_no_way_to_date_it_is_skipped_with_its_gop() -> None:
    packets = [video("k", None, True), video("p1", 5 * F), video("k2", 6 * F, True)]
    out, _ = run(packets, fps=None)
    assert out == ["k SKIP_NO_TIMESTAMP", "p1 SKIP_BEFORE_KEY", f"k2 WRITE {6 * F} cut"]


def test_segments_cut_at_the_first_keyframe_at_or_after_segment_seconds() -> None:
    packets = [video(f"f{i}", i * F, key=i % 7 == 0) for i in range(30)]  # GOP 0.7 s
    out, _ = run(packets, segment_s=2.0)
    assert [line.split()[0] for line in out if line.endswith("cut")] == ["f0", "f21"]


def test_a_keyframe_a_tick_early_still_cuts() -> None:
    """RTCP-mapped RTP timestamps jitter by a tick: 4 s minus 11 µs is 4 s."""
    packets = [video("k0", 0, True), video("k1", 4 * S - 1, True)]
    out, _ = run(packets, segment_s=4.0)
    assert out == ["k0 WRITE 0 cut", f"k1 WRITE {4 * S - 1} cut"]


def test_nothing_is_cut_when_nothing_is_recorded() -> None:
    packets = [video(f"f{i}", i * F, key=True) for i in range(30)]
    out, _ = run(packets, segment_s=None)
    assert [line for line in out if line.endswith("cut")] == ["f0 WRITE 0 cut"]


def test_the_anchor_is_never_before_the_end_of_what_is_recorded() -> None:
    _, tl = run([video("k", 5 * S, True, now=1.0)], not_before=T0 + 4.0)
    assert tl.wall(0, 5 * S) == T0 + 4.0
    assert tl.wall(0, 6 * S) == T0 + 5.0
    _, tl = run([video("k", 5 * S, True, now=1.0)], not_before=T0 - 4.0)
    assert tl.wall(0, 5 * S) == T0 + 1.0


def test_a_cut_can_be_asked_for_at_the_next_keyframe() -> None:
    tl: PacketTimeline[str] = PacketTimeline([Fraction(1, 90000)], fps=10, segment_s=60)
    tl.feed("k", V, 0, True, 0, T0)
    tl.feed("p", V, F, False, 0, T0)
    tl.cut_at_next_keyframe()
    tl.feed("p", V, 2 * F, False, 0, T0)
    assert not tl.cut
    tl.feed("k", V, 3 * F, True, 0, T0)
    assert tl.cut


AUDIO_CASES = {
    "audio before the first keyframe is skipped, audio after it written": (
        [audio("a0", 0), audio("a1", 1440), video("k", 2 * F, True), audio("a2", 1600)],
        [
            "a0 SKIP_BEFORE_KEY",
            "a1 SKIP_BEFORE_KEY",
            f"k WRITE {2 * F} cut",
            "a2 WRITE 1600 (drained)",
        ],  # waits for the picture: nothing came after it
    ),
    "audio arriving while the first keyframe is held comes with it": (
        # RTSP: the keyframe has no DTS; it turns out to be at 0.4 s.
        [
            audio("a0", 2880),
            video("k", None, True),
            audio("a1", 3200),
            audio("a2", 3360),
            video("p", 5 * F),
        ],
        [
            "a0 SKIP_BEFORE_KEY",
            f"k WRITE {4 * F} cut",
            f"p WRITE {5 * F}",
            "a1 WRITE 3200",  # released once the picture passed them
            "a2 WRITE 3360",
        ],
    ),
    "held audio from before the keyframe's time is skipped": (
        [video("k", None, True), audio("early", 3000), video("p", 5 * F)],
        [f"k WRITE {4 * F} cut", "early SKIP_BEFORE_KEY", f"p WRITE {5 * F}"],
    ),
    "audio overlapping what was written is skipped (RTCP re-sync by a few ms)": (
        [
            video("k", 0, True),
            audio("a1", 160),
            audio("a2", 320),
            audio("again", 300),
            audio("a3", 480),
            video("p", F),
        ],
        [
            "k WRITE 0 cut",
            "again SKIP_OVERLAP",
            f"p WRITE {F}",
            "a1 WRITE 160",
            "a2 WRITE 320",
            "a3 WRITE 480",
        ],
    ),
    "an audio clock far from the video's is re-anchored at the video's time": (
        [
            video("k", 0, True),
            video("p", 10 * F),
            audio("far", 500_000),
            audio("next", 500_160),
            video("p2", 12 * F),
        ],
        [
            "k WRITE 0 cut",
            f"p WRITE {10 * F}",
            f"p2 WRITE {12 * F}",
            "far WRITE 8000",
            "next WRITE 8160",
        ],
    ),
    "an audio clock stepping back over 1 s is re-anchored after what it wrote": (
        [
            video("k", 0, True),
            video("p", 15 * F),
            audio("a", 12000),
            audio("back", 0),
            video("p2", 16 * F),
        ],
        [
            "k WRITE 0 cut",
            f"p WRITE {15 * F}",
            f"p2 WRITE {16 * F}",
            "a WRITE 12000",
            "back WRITE 12001",
        ],
    ),
    "audio behind the video by over 2 s (its clock stood still in a silence): re-anchored": (
        [
            video("k", 0, True),
            audio("a", 160),
            video("p", 40 * F),  # 4 s of picture, the microphone silent
            audio("stale", 320),  # the camera's audio clock did not run on
            video("p2", 41 * F),
        ],
        [
            "k WRITE 0 cut",
            f"p WRITE {40 * F}",
            "a WRITE 160",
            "audio lost at 0.04",
            "audio back at 4.00",
            f"p2 WRITE {41 * F}",
            "stale WRITE 32000",  # where it arrived: 4 s
        ],
    ),
    "audio without DTS is skipped": (
        [video("k", 0, True), audio("a", None)],
        ["k WRITE 0 cut", "a SKIP_NO_TIMESTAMP"],
    ),
}


@pytest.mark.parametrize(("packets", "expected"), AUDIO_CASES.values(), ids=AUDIO_CASES.keys())
def test_audio_timeline(packets: list[P], expected: list[str]) -> None:
    assert run(packets, tracks=2)[0] == expected


def test_each_segment_holds_the_audio_of_its_own_time_span() -> None:
    """Audio arrives ahead of the picture (it is smaller): it waits, then goes by its time."""
    packets = [video("k1", 0, True)]
    for i in range(1, 30):  # video every 0.1 s; audio 0.15 s ahead of it, every 0.02 s
        packets += [audio(f"a{5 * i + j}", (5 * i + j) * 160 + 1200) for j in range(5)]
        packets.append(video(f"v{i}", i * F, key=i % 10 == 0))
    out, _ = run(packets, tracks=2, segment_s=1.0)
    segment = placed = 0
    starts = {0: 0.0}
    for line in out:
        if line.endswith("cut"):
            segment += 1
            starts[segment] = int(line.split()[2]) / 90000
        elif line.startswith("a") and ("WRITE" in line or "PREVIOUS" in line):
            placed += 1
            at = int(line.split()[2]) / 8000
            into = segment - 1 if "PREVIOUS" in line else segment
            assert starts[into] <= at, line
            assert into == segment or at < starts[segment], line
    assert segment == 3
    assert placed == 5 * 29


def test_late_audio_goes_to_the_previous_segment_until_audio_of_the_new_one() -> None:
    packets = [
        video("k1", 0, True),
        audio("a", 7680),  # 0.96 s
        video("k2", S, True),  # cut at 1 s
        audio("late", 7840),  # 0.98 s: before the cut, arrived after it
        audio("new", 8000),  # 1.00 s
        audio("more", 8160),
    ]
    out, _ = run(packets, tracks=2, segment_s=1.0)
    assert out == [
        "k1 WRITE 0 cut",
        f"k2 WRITE {S} cut",
        "a PREVIOUS 7680",  # waited for the picture: it belongs before the cut
        "late PREVIOUS 7840",  # came after the cut, belongs before it
        "close previous",
        "new WRITE 8000 (drained)",
        "more WRITE 8160 (drained)",
    ]


def test_the_previous_segment_closes_after_two_seconds_without_audio() -> None:
    packets = [video("k1", 0, True), audio("a", 0), video("k2", S, True)]
    packets += [video(f"p{i}", S + i * F) for i in range(1, 22)]
    packets += [audio("late", 7840)]
    out, _ = run(packets, tracks=2, segment_s=1.0)
    closed = out.index("close previous")
    assert out[closed + 1] == f"p21 WRITE {S + 21 * F}"  # 2.1 s after the cut
    # Audio over 2 s behind the picture is a clock that stood still: kept where it arrived.
    assert out[-1] == f"late WRITE {(S + 21 * F) * 8000 // 90000} (drained)"


def test_audio_loss_starts_where_the_last_audio_ended_and_ends_when_it_is_back() -> None:
    packets = [video("k", 0, True, now=0.0), audio("a", 0)]
    packets += [video(f"p{i}", i * F) for i in range(1, 30)]  # 2.9 s of picture, no sound
    packets += [audio("back", 24000)]  # 3.0 s
    out, _ = run(packets, tracks=2)
    assert "audio lost at 0.02" in out  # the end of the last audio packet
    assert out.index("audio lost at 0.02") == out.index(f"p21 WRITE {21 * F}") + 1
    assert out[-2:] == ["audio back at 3.00", "back WRITE 24000 (drained)"]


def test_a_connection_without_audio_from_a_camera_that_had_sound_loses_it_at_once() -> None:
    out, tl = run([video("k", 0, True, now=5.0), video("p", F)], audio_expected=True)
    assert out == ["k WRITE 0 cut", "audio lost at 5.00", f"p WRITE {F}"]
    assert tl.end_audio() == T0 + 5.1  # the connection ends at its last picture


def test_no_audio_expected_no_audio_loss() -> None:
    out, tl = run([video(f"p{i}", i * F, key=i == 0) for i in range(40)])
    assert not [line for line in out if "audio" in line]
    assert tl.end_audio() is None
