"""The timeline of one connection: where each packet goes, decided from its timestamps alone.

    source packets --(track, dts, keyframe, duration, now)--> PacketTimeline
        --> verdict (write / previous segment / hold / skip), output tick, cut, audio events

Pure: no I/O and no clock of its own. ``now`` (wall time, seconds since the epoch) comes in
with each packet and is read only when the timeline anchors or re-anchors. One instance per
connection; the camera worker turns its verdicts into I/O. Track 0 is the video; the others
are audio tracks. Ticks are in each track's own time base. Decisions, each table-tested in
tests/cameras/test_timeline.py:

- **Before the first keyframe** nothing is written (``SKIP_BEFORE_KEY``): a decoder cannot
  use pictures that refer to one it never got, nor audio without a picture to start the
  segment. The worker passes ``keyframe=False`` for a keyframe whose access unit is not
  whole (see ``vms.cameras.bitstream``), so a partial first access unit is skipped too.
- **Missing first DTS**: FFmpeg's RTP reader hands out the first access unit of a
  connection without a timestamp. A keyframe without one is held (``HOLD``) and dated one
  frame before the next video packet; audio arriving meanwhile is held with it. Both are
  then in ``released``, in order, before the packet that dated them.
- **Anchoring**: the first keyframe's wall time is ``max(now, not_before)`` (never before the
  end of what is already recorded); every later packet's time follows from its DTS.
- **Video DTS jumps** backwards or forwards by more than ``max_jump_s``: the camera's clock
  jumped. The timeline re-anchors at that packet, so that it follows the previous one (or
  lies at ``now``, whichever is later): nothing is dropped, time never runs backwards, and
  the segment goes on. A backward step of exactly 2^32 or 2^33 ticks (RTP / MPEG-TS
  timestamp wrap) is unwrapped instead.
- **Audio** follows the video's time origin (FFmpeg puts the streams of one source on one
  clock). An audio DTS at or before the last one written overlaps audio already recorded
  and is skipped (``SKIP_OVERLAP``, e.g. RTCP re-synchronising the stream by a few
  milliseconds); an audio clock more than ``AUDIO_SKEW_S`` away from the video's (a camera
  whose audio timestamps do not run on over a silence, or jump), or stepping back more than
  ``AUDIO_OVERLAP_S``, is re-anchored to continue at the video's time: the sound is kept,
  placed where it arrived.
- **Segments**: a video keyframe ``segment_s`` or more after the segment's start cuts
  (``cut``), so each segment holds the audio of its own time span: ``[start, next start)``.
  Audio dated ahead of the last video packet waits (``HOLD``) until the video passes it and
  comes back in ``then`` (after the video packet that passed it), into the segment its time
  belongs to. Audio dated before a cut that arrives after it goes to the previous segment
  (``PREVIOUS``), which the worker keeps open until the first audio at or after the cut (or
  ``PREVIOUS_S`` of video) and then closes (``close_previous``); audio that late after that
  is ``SKIP_LATE``. Audio waits at most ``PREVIOUS_S`` for a stalled video.
- **Audio loss**: when the connection has audio and none is written for ``AUDIO_LOSS_S`` of
  video, ``audio_lost`` is the wall time the audio stopped (the end of the last audio
  packet, or the first keyframe); the next audio packet written sets ``audio_back``. A
  connection without any audio stream from a camera that sent sound before
  (``audio_expected``) loses its audio at its first keyframe.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import Generic, TypeVar

T = TypeVar("T")

#: A jump in video timestamps larger than this (or backwards) re-anchors the timeline.
MAX_DTS_JUMP_S = 10.0
#: No audio for this long, while video goes on, is an audio gap.
AUDIO_LOSS_S = 2.0
#: An audio step back by more than this is a clock jump (re-anchored), not an overlap.
AUDIO_OVERLAP_S = 1.0
#: The previous segment takes late audio for at most this long after a cut.
PREVIOUS_S = 2.0
#: Audio whose clock is further than this from the video's is re-anchored to the video.
AUDIO_SKEW_S = 2.0
#: A keyframe this close to ``segment_s`` cuts: RTCP-mapped RTP timestamps jitter by a tick.
CUT_SLACK_S = 0.001
#: Timestamps wrap at these many ticks (RTP: 32 bits, MPEG-TS: 33 bits).
WRAPS = (1 << 32, 1 << 33)


class Verdict(IntEnum):
    WRITE = 0  # into the current segment, at ``tick``
    PREVIOUS = 1  # into the previous segment (audio from before the cut), at ``tick``
    HOLD = 2  # kept by the timeline; comes back in ``released`` or ``then``
    SKIP_BEFORE_KEY = 3  # before the connection's first whole keyframe
    SKIP_NO_TIMESTAMP = 4  # no DTS and none can be given
    SKIP_OVERLAP = 5  # audio overlapping audio already written
    SKIP_LATE = 6  # audio from before a cut, after the previous segment closed


WRITTEN = (Verdict.WRITE, Verdict.PREVIOUS)


@dataclass(frozen=True)
class Released(Generic[T]):
    """A held packet, now placed: handle it like a packet fed with this verdict."""

    item: T
    track: int
    verdict: Verdict
    tick: int
    cut: bool
    close_previous: bool = False


class PacketTimeline(Generic[T]):
    """Places the packets of one connection; ``feed`` them in arrival order.

    ``time_bases[0]`` is the video track's; ``fps`` dates a held keyframe when the next
    packet has no duration. ``segment_s`` of ``None`` never cuts (nothing is recorded).
    """

    def __init__(
        self,
        time_bases: Sequence[Fraction],
        *,
        fps: float | None,
        segment_s: float | None,
        not_before: float | None = None,
        max_jump_s: float = MAX_DTS_JUMP_S,
        audio_expected: bool = False,
    ) -> None:
        self._num = [tb.numerator for tb in time_bases]
        self._den = [tb.denominator for tb in time_bases]
        self._offset = [0] * len(time_bases)
        self._last: list[int | None] = [None] * len(time_bases)
        self._max_jump_s = max_jump_s
        self._segment_s = segment_s
        self._not_before = not_before
        self._has_audio = len(time_bases) > 1
        self._audio_expected = audio_expected or self._has_audio
        tb = time_bases[0]
        self._step = round(1 / (fps * tb)) if fps else 0  # one frame, in video ticks
        self._max_jump = round(max_jump_s / tb)
        self._last_dur = self._step
        self._held: list[tuple[T, int, int | None, int]] = []  # (item, track, dts, duration)
        self._ahead: deque[tuple[T, int, int, float]] = deque()  # audio ahead of the video
        # The anchor: wall time ``anchor_wall`` is timeline second ``_anchor_s``.
        self.anchor_wall: float | None = None
        self._anchor_s = 0.0
        self._seg_tick = 0  # video tick where the current segment starts
        self._seg_s = 0.0
        self._video_s = 0.0  # time of the last video packet
        self._prev_open = False  # the previous segment still takes late audio
        self._audio_end = 0.0  # end of the last audio written (timeline seconds)
        self._audio_lost = False
        self._lost_at = 0.0  # where the audio loss in progress began
        #: What the camera's timestamps made the timeline do (for health and logs).
        self.video_rejoins = 0
        self.audio_rejoins = 0
        self.audio_overlaps = 0
        # Results of the last ``feed``:
        self.tick = 0
        self.cut = False
        self.close_previous = False
        self.released: list[Released[T]] = []
        self.then: list[Released[T]] = []
        self.audio_lost: float | None = None
        self.audio_back: float | None = None

    # -- reading ----------------------------------------------------------------------

    @property
    def anchored(self) -> bool:
        return self.anchor_wall is not None

    def seconds(self, track: int, tick: int) -> float:
        """Timeline seconds of ``tick`` on ``track``."""
        return tick * self._num[track] / self._den[track]

    def wall(self, track: int, tick: int) -> float:
        """Wall time (seconds since the epoch) of ``tick`` on ``track``."""
        assert self.anchor_wall is not None, "not anchored yet"
        return self.anchor_wall + tick * self._num[track] / self._den[track] - self._anchor_s

    def wall_of_seconds(self, seconds: float) -> float:
        assert self.anchor_wall is not None, "not anchored yet"
        return self.anchor_wall + seconds - self._anchor_s

    @property
    def segment_start(self) -> int:
        """Video tick of the current segment's first keyframe."""
        return self._seg_tick

    # -- placing ----------------------------------------------------------------------

    def feed(
        self, item: T, track: int, dts: int | None, keyframe: bool, duration: int, now: float
    ) -> Verdict:
        """Place one packet; read ``tick``, ``cut``, ``released`` ... afterwards."""
        self.cut = self.close_previous = False
        self.audio_lost = self.audio_back = None
        if self.released:
            self.released = []
        if self.then:
            self.then = []
        if track == 0:
            return self._video(item, dts, keyframe, duration, now)
        return self._audio(item, track, dts, duration)

    def cut_at_next_keyframe(self) -> None:
        """The next video keyframe starts a new segment, however short this one is."""
        self._seg_s = -math.inf

    def reset_audio(self) -> None:
        """Measure audio loss from the last video packet on (recording resumed)."""
        self._audio_end = self._video_s
        self._audio_lost = False

    def drain(self) -> list[Released[T]]:
        """The connection ends: the audio still waiting for the video, placed."""
        out = []
        while self._ahead:
            item, track, tick, t = self._ahead.popleft()
            verdict, close = self._route(t)
            out.append(Released(item, track, verdict, tick, False, close))
        return out

    def end_audio(self) -> float | None:
        """The connection ends: the wall time an audio gap in progress closes, if any."""
        if not self._audio_lost or self.anchor_wall is None:
            return None
        self._audio_lost = False
        return self.wall_of_seconds(self._video_s)

    def _video(
        self, item: T, dts: int | None, keyframe: bool, duration: int, now: float
    ) -> Verdict:
        if self.anchor_wall is None:
            return self._before_anchor(item, dts, keyframe, duration, now)
        last = self._last[0]
        assert last is not None
        if dts is None:  # mid-stream: date it one frame after the last
            out = last + (self._last_dur or 1)
        else:
            out = dts + self._offset[0]
            step = out - last
            if step <= 0 or step > self._max_jump:
                out = self._rejoin_video(dts, step, last, now)
        self._last[0] = out
        if duration:
            self._last_dur = duration
        t = out * self._num[0] / self._den[0]
        self._video_s = t
        if (
            keyframe
            and self._segment_s is not None
            and t - self._seg_s >= self._segment_s - CUT_SLACK_S
        ):
            self._cut(out, t)
        elif self._prev_open and t - self._seg_s > PREVIOUS_S:
            self._prev_open = False
            self.close_previous = True
        if self._audio_expected and not self._audio_lost and t - self._audio_end > AUDIO_LOSS_S:
            self._audio_lost = True
            self._lost_at = self._audio_end
            self.audio_lost = self.wall_of_seconds(self._audio_end)
        if self._ahead and self._ahead[0][3] < t:
            self._pass(t)
        self.tick = out
        return Verdict.WRITE

    def _pass(self, t: float) -> None:
        """The video reached ``t``: the audio before it can go where its time belongs."""
        ahead = self._ahead
        while ahead and ahead[0][3] < t:
            item, track, tick, at = ahead.popleft()
            verdict, close = self._route(at)
            self.then.append(Released(item, track, verdict, tick, False, close))

    def _route(self, t: float) -> tuple[Verdict, bool]:
        """The segment an audio packet of time ``t`` belongs to (and: close the previous?)."""
        if t < self._seg_s:
            return (Verdict.PREVIOUS, False) if self._prev_open else (Verdict.SKIP_LATE, False)
        if self._prev_open:
            self._prev_open = False
            return Verdict.WRITE, True
        return Verdict.WRITE, False

    def _before_anchor(
        self, item: T, dts: int | None, keyframe: bool, duration: int, now: float
    ) -> Verdict:
        if dts is None:
            if keyframe and not self._held:
                self._held.append((item, 0, None, duration))
                return Verdict.HOLD
            self._drop_held()  # two packets without a timestamp: neither can be dated
            return Verdict.SKIP_NO_TIMESTAMP if keyframe else Verdict.SKIP_BEFORE_KEY
        if self._held:
            step = duration or self._step
            if not step:
                self._drop_held()
            else:
                held, self._held = self._held, []
                self._anchor(dts - step, now)
                self.released.append(Released(held[0][0], 0, Verdict.WRITE, dts - step, True))
                for h_item, h_track, h_dts, h_duration in held[1:]:
                    verdict = self._audio(h_item, h_track, h_dts, h_duration)
                    self.released.append(Released(h_item, h_track, verdict, self.tick, False))
                self.close_previous = False
                self.audio_back = None
                return self._video(item, dts, keyframe, duration, now)
        if not keyframe:
            return Verdict.SKIP_BEFORE_KEY
        self._anchor(dts, now)
        if duration:
            self._last_dur = duration
        self.tick = dts
        self.cut = True
        return Verdict.WRITE

    def _drop_held(self) -> None:
        for h_item, h_track, _dts, _duration in self._held:
            verdict = Verdict.SKIP_NO_TIMESTAMP if h_track == 0 else Verdict.SKIP_BEFORE_KEY
            self.released.append(Released(h_item, h_track, verdict, 0, False))
        self._held = []

    def _anchor(self, tick: int, now: float) -> None:
        t = tick * self._num[0] / self._den[0]
        self.anchor_wall = max(now, self._not_before) if self._not_before is not None else now
        self._anchor_s = t
        self._last[0] = tick
        self._video_s = self._audio_end = t
        self._seg_tick, self._seg_s = tick, t
        if self._audio_expected and not self._has_audio:
            self._audio_lost = True  # the camera sent sound before, this connection has none
            self._lost_at = t
            self.audio_lost = self.anchor_wall

    def _cut(self, tick: int, t: float) -> None:
        self.cut = True
        if self._prev_open:
            self.close_previous = True
        self._prev_open = self._has_audio
        self._seg_tick, self._seg_s = tick, t

    def _rejoin_video(self, dts: int, step: int, last: int, now: float) -> int:
        for wrap in WRAPS:
            if 0 < step + wrap <= self._max_jump:
                self._offset[0] += wrap
                return dts + self._offset[0]
        # The camera's clock jumped: continue one frame after the last packet, or at now.
        self.video_rejoins += 1
        num, den = self._num[0], self._den[0]
        assert self.anchor_wall is not None
        now_tick = round((self._anchor_s + now - self.anchor_wall) * den / num)
        out = max(last + (self._last_dur or 1), now_tick)
        self._offset[0] = out - dts
        return out

    def _audio(self, item: T, track: int, dts: int | None, duration: int) -> Verdict:
        if self.anchor_wall is None:
            if self._held:
                self._held.append((item, track, dts, duration))
                return Verdict.HOLD
            return Verdict.SKIP_BEFORE_KEY
        if dts is None:
            return Verdict.SKIP_NO_TIMESTAMP
        num, den = self._num[track], self._den[track]
        out = dts + self._offset[track]
        last = self._last[track]
        t = out * num / den
        if abs(t - self._video_s) > AUDIO_SKEW_S:
            out, t = self._rejoin_audio(track, dts, last)
        elif last is not None and out <= last:
            if (last - out) * num / den <= AUDIO_OVERLAP_S:
                self.audio_overlaps += 1
                return Verdict.SKIP_OVERLAP
            out, t = self._rejoin_audio(track, dts, last)
        first = self._last[track] is None
        self._last[track] = out
        self.tick = out
        if t >= self._video_s:  # ahead of the picture: wait until the video passes it
            self._ahead.append((item, track, out, t))
            if self._ahead[0][3] < t - PREVIOUS_S:  # the video stalls: do not wait for it
                self._pass(t - PREVIOUS_S)
            verdict = Verdict.HOLD
        elif first and t < self._seg_s:
            return Verdict.SKIP_BEFORE_KEY
        else:
            verdict, close = self._route(t)
            if verdict is Verdict.SKIP_LATE:
                return verdict
            if close:
                self.close_previous = True
        end = t + duration * num / den
        if end > self._audio_end:
            self._audio_end = end
        if self._audio_lost:
            self._audio_lost = False
            self.audio_back = self.wall_of_seconds(max(t, self._lost_at))
        return verdict

    def _rejoin_audio(self, track: int, dts: int, last: int | None) -> tuple[int, float]:
        """Re-anchor an audio track to continue at the video's time (after what it wrote)."""
        self.audio_rejoins += 1
        num, den = self._num[track], self._den[track]
        out = math.ceil(self._video_s * den / num)  # the video's time, in audio ticks
        if last is not None:
            out = max(out, last + 1)
        self._offset[track] = out - dts
        return out, out * num / den
