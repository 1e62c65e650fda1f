"""The sound of a live view: the camera's audio packets on a WebRTC audio track.

G.711 at 8 kHz mono (PCMA, PCMU: what WebRTC carries as it is) passes through: the camera's
own packets, re-timed for RTP, never decoded. Any other codec (AAC, Opus, G.711 at another
rate) is decoded here and handed to aiortc as 16-bit frames, which it encodes to Opus for
each viewer: only the sound is transcoded, only for viewing; the recording keeps the camera's
packets. G.726 is not carried live (its decoder needs a code size the live header lacks).

    conv = AudioConverter(header.audio[0])    # conv.mime: "audio/PCMA" or "audio/opus"
    for item in conv.convert(packet):         # av.Packet (pass-through) or av.AudioFrame
        track.put(item)
"""

from __future__ import annotations

import asyncio
import logging
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from vms.cameras.live import LiveAudio, LivePacket

log = logging.getLogger(__name__)

PASS_THROUGH = {"pcm_alaw": "audio/PCMA", "pcm_mulaw": "audio/PCMU"}
OPUS = "audio/opus"
G711_CLOCK = Fraction(1, 8000)
OPUS_RATE = 48_000
QUEUE_ITEMS = 100  # about 2 s of 20 ms packets


def webrtc_codec(audio: LiveAudio) -> str | None:
    """The RTP codec a viewer gets for this camera audio (None: not carried live)."""
    if audio.codec.startswith(("adpcm_g726", "g726")):
        return None
    if audio.codec in PASS_THROUGH and audio.sample_rate == 8000 and (audio.channels or 1) == 1:
        return PASS_THROUGH[audio.codec]
    return OPUS


class _Clock:
    """The source's audio timestamps on one rising clock (a reconnect starts them again)."""

    def __init__(self, rate: Fraction) -> None:
        self.rate = rate
        self._offset: int | None = None
        self._next = 0

    def map(self, ts: int, tb: Fraction, samples: int) -> int:
        t = round(ts * tb / self.rate)
        if self._offset is None or not (0 <= t + self._offset - self._next <= 5 / self.rate):
            self._offset = self._next - t  # go on from where the last packet ended
        out = t + self._offset
        self._next = out + samples
        return out


class AudioConverter:
    """One camera audio stream to what aiortc sends: packets (G.711) or frames (to Opus)."""

    def __init__(self, audio: LiveAudio) -> None:
        self.audio = audio
        mime = webrtc_codec(audio)
        if mime is None:
            raise ValueError(f"{audio.codec} is not carried live")
        self.mime = mime
        self.passthrough = mime != OPUS
        self._tb = audio.time_base
        self._clock = _Clock(G711_CLOCK if self.passthrough else Fraction(1, OPUS_RATE))
        self._decoder: Any = None
        self._resampler: av.AudioResampler | None = None
        if not self.passthrough:
            self._decoder = av.CodecContext.create(audio.codec, "r")
            if audio.extradata:
                self._decoder.extradata = audio.extradata
            if audio.sample_rate:
                self._decoder.sample_rate = audio.sample_rate
            if audio.channels:
                self._decoder.layout = "mono" if audio.channels == 1 else "stereo"
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)

    def convert(self, item: LivePacket) -> list[av.Packet[Any] | av.AudioFrame]:
        ts = item.pts if item.pts is not None else item.dts
        if ts is None:
            return []
        if self.passthrough:
            packet = av.Packet(item.data)
            packet.pts = packet.dts = self._clock.map(ts, self._tb, len(item.data))
            packet.time_base = G711_CLOCK
            return [packet]
        assert self._resampler is not None
        source = av.Packet(item.data)
        source.pts = source.dts = ts
        source.time_base = self._tb
        out: list[av.Packet[Any] | av.AudioFrame] = []
        try:
            frames = self._decoder.decode(source)
        except av.FFmpegError as exc:  # a damaged packet is a short silence
            log.debug("live audio: %s", exc)
            return []
        for frame in frames:
            for f in self._resampler.resample(frame):
                f.pts = self._clock.map(ts, self._tb, f.samples)
                f.time_base = Fraction(1, OPUS_RATE)
                ts += round(f.samples / OPUS_RATE / self._tb)
                out.append(f)
        return out


class CameraAudioTrack(MediaStreamTrack):
    """The one upstream audio track of a camera; its camera track feeds it."""

    kind = "audio"

    def __init__(self, mime: str) -> None:
        super().__init__()
        self.mime = mime
        self.items = 0
        self.dropped = 0
        self._queue: asyncio.Queue[av.Packet[Any] | av.AudioFrame | None] = asyncio.Queue(
            maxsize=QUEUE_ITEMS
        )

    def put(self, item: av.Packet[Any] | av.AudioFrame | None) -> None:
        """From the event loop's thread."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1  # a viewer behind: a short silence, no resync needed

    async def recv(self) -> av.Packet[Any] | av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            self.stop()
            raise MediaStreamError
        self.items += 1
        return item
