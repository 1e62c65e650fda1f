"""Probing a recorder file in a child process: streams, tags, true duration, completeness.

The child (``vms.detection.video.isolated``) opens the file with PyAV and demuxes every packet
without decoding any: it counts each stream's packets against what the header declares (a
file the dock is still copying, or whose copy was killed, has fewer), measures the real
duration from the packets, and collects the text of subtitle and data streams (where
recorders put their GPS sentences). A file that crashes the demuxer kills only the child.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from vms.detection.video import isolated
from vms.errors import VideoError

_MAX_TEXT_PACKETS = 20_000
_MAX_TEXT_BYTES = 4 << 20
_CHILD = f"{__name__}:_probe_child"
#: Bytes per sample and channel of the PCM codecs recorders use (G.711 and linear PCM).
_PCM_BYTES = {
    "pcm_alaw": 1, "pcm_mulaw": 1, "pcm_u8": 1, "pcm_s8": 1,
    "pcm_s16le": 2, "pcm_s16be": 2, "pcm_s24le": 3, "pcm_s24be": 3,
    "pcm_s32le": 4, "pcm_s32be": 4, "pcm_f32le": 4, "pcm_f32be": 4,
}  # fmt: skip


@dataclass(frozen=True)
class StreamInfo:
    """One stream of the file as the header declares it and as its packets show it."""

    index: int
    type: str  # video, audio, subtitle, data
    codec: str
    declared_frames: int  # 0 when the container does not say
    packets: int
    payload_bytes: int
    first_s: float | None  # presentation time of the first packet, seconds
    end_s: float | None  # end of the last packet, seconds
    declared_s: float | None = None  # the stream's duration as its header declares it
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeInfo:
    """What a recorder file holds."""

    format: str
    duration_s: float | None  # as the header declares it
    tags: dict[str, str]
    streams: list[StreamInfo]
    texts: list[tuple[float, str]]  # (seconds, text) of subtitle and data packets
    read_error: str | None = None  # demuxing stopped before the end
    open_error: str | None = None  # the file could not be opened as a video at all

    def first(self, kind: str) -> StreamInfo | None:
        return next((s for s in self.streams if s.type == kind), None)

    @property
    def video(self) -> StreamInfo | None:
        return self.first("video")

    @property
    def audio(self) -> StreamInfo | None:
        return self.first("audio")

    @property
    def origin_s(self) -> float:
        """Where the file's presentation starts: the first A/V packet, never before 0
        (AAC priming samples carry negative times and are not shown)."""
        starts = [
            s.first_s
            for s in self.streams
            if s.type in ("video", "audio") and s.packets and s.first_s is not None
        ]
        return max(0.0, min(starts)) if starts else 0.0

    @property
    def measured_s(self) -> float | None:
        """Duration from the packets: the earliest start to the latest end of any A/V stream."""
        av_streams = [s for s in self.streams if s.type in ("video", "audio") and s.packets]
        starts = [s.first_s for s in av_streams if s.first_s is not None]
        ends = [s.end_s for s in av_streams if s.end_s is not None]
        if not starts or not ends:
            return None
        return max(0.0, max(ends) - max(0.0, min(starts)))

    def missing(self) -> list[str]:
        """Why the file is not whole: streams with fewer packets than the header declares."""
        problems = []
        if self.read_error:
            problems.append(f"reading stopped early: {self.read_error}")
        for s in self.streams:
            if s.type not in ("video", "audio"):
                continue
            width = _PCM_BYTES.get(s.codec)
            if width is not None:
                # PCM headers count samples, not packets: compare the samples the bytes hold.
                samples = s.payload_bytes // (width * max(1, s.channels or 1))
                if s.declared_frames and samples < s.declared_frames:
                    problems.append(
                        f"{s.type} stream {s.index} holds {samples} of the "
                        f"{s.declared_frames} samples its header declares"
                    )
            elif s.declared_frames and s.packets < s.declared_frames:
                problems.append(
                    f"{s.type} stream {s.index} has {s.packets} of the {s.declared_frames} "
                    "packets its header declares"
                )
        return problems


def _tags(meta: Any) -> dict[str, str]:
    return {str(k): str(v)[:500] for k, v in dict(meta or {}).items()}


def _rate(stream: Any) -> float | None:
    rate = getattr(stream, "average_rate", None) or getattr(stream, "guessed_rate", None)
    return float(rate) if rate else None


def _text(data: bytes) -> str:
    # mov_text / tx3g samples start with a 2-byte length; plain text streams do not.
    if len(data) >= 2 and int.from_bytes(data[:2], "big") == len(data) - 2:
        data = data[2:]
    return data.decode("utf-8", errors="replace").strip("\x00").strip()


def _probe_child(conn: Connection, path: str) -> None:
    import av

    try:
        container = av.open(path)
    except Exception as exc:  # any demuxer failure is reported, not raised
        unreadable = ProbeInfo("", None, {}, [], [], open_error=str(exc))
        conn.send(("info", unreadable))
        conn.send(("end", None))
        return
    with container:
        streams = list(container.streams)
        n = len(streams)
        counts, sizes = [0] * n, [0] * n
        first: list[int | None] = [None] * n  # in each stream's own time base
        last: list[int | None] = [None] * n
        text = [st.type in ("subtitle", "data") for st in streams]
        texts: list[tuple[float, str]] = []
        text_bytes = 0
        read_error = None
        try:
            # Integer bookkeeping only: this loop runs once per packet of a multi-GB file.
            for packet in container.demux():
                size = packet.size
                if not size:
                    continue
                i = packet.stream_index
                counts[i] += 1
                sizes[i] += size
                ts = packet.pts
                if ts is None:
                    ts = packet.dts
                    if ts is None:
                        continue
                lo = first[i]
                if lo is None or ts < lo:
                    first[i] = ts
                end = ts + (packet.duration or 0)
                hi = last[i]
                if hi is None or end > hi:
                    last[i] = end
                if text[i] and len(texts) < _MAX_TEXT_PACKETS and text_bytes < _MAX_TEXT_BYTES:
                    raw = bytes(packet)
                    text_bytes += len(raw)
                    tb = packet.stream.time_base
                    texts.append((float(ts * tb) if tb else 0.0, _text(raw)))
        except Exception as exc:  # a damaged or truncated file: say how far it got
            read_error = str(exc)

        def seconds(ticks: int | None, st: Any) -> float | None:
            return None if ticks is None or not st.time_base else float(ticks * st.time_base)

        infos = []
        for i, st in enumerate(streams):
            ctx: Any = st.codec_context
            infos.append(
                StreamInfo(
                    index=i,
                    type=st.type,
                    codec=str(getattr(ctx, "name", None) or "unknown"),
                    declared_frames=int(st.frames or 0),
                    packets=counts[i],
                    payload_bytes=sizes[i],
                    first_s=seconds(first[i], st),
                    end_s=seconds(last[i], st),
                    declared_s=(
                        float(st.duration * st.time_base) if st.duration and st.time_base else None
                    ),
                    width=getattr(ctx, "width", None) if st.type == "video" else None,
                    height=getattr(ctx, "height", None) if st.type == "video" else None,
                    fps=_rate(st) if st.type == "video" else None,
                    sample_rate=getattr(ctx, "sample_rate", None) if st.type == "audio" else None,
                    channels=getattr(ctx, "channels", None) if st.type == "audio" else None,
                    tags=_tags(st.metadata),
                )
            )
        duration = float(container.duration) / 1_000_000 if container.duration else None
        info = ProbeInfo(
            format=str(container.format.name),
            duration_s=duration,
            tags=_tags(container.metadata),
            streams=infos,
            texts=texts,
            read_error=read_error,
        )
    conn.send(("info", info))
    conn.send(("end", None))


def probe(path: Path, *, timeout: float = 120.0, target: str = _CHILD) -> ProbeInfo:
    """Probe ``path`` in a child process; a file that cannot be opened comes back with
    ``open_error`` set; VideoError if the child dies (a hostile file) or hangs.

    ``target`` names the child function (``module:function``); tests pass one that crashes.
    """
    for kind, payload in isolated(target, str(path), timeout=timeout, what=path.name):
        if kind == "info":
            assert isinstance(payload, ProbeInfo)
            return payload
    raise VideoError(f"{path.name}: the probe sent no stream information")
