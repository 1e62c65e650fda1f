"""Sound and H.265 from camera to viewer: ``vms serve`` recording three real RTSP cameras
(GStreamer) that send real footage with real speech (espeak-ng): H.264 + G.711 A-law,
H.264 + AAC and H.265 + G.711 µ-law. Watched live by a WebRTC client (aiortc) and by Debian's
Chromium, and played back on the playback page."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import av
import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright
from sqlalchemy import select

from tests.conftest import shared_file
from tests.support.rtsp import AudioTrack, Mount, RtspServer, prepare_speech, prepare_video
from tests.support.waiting import wait_for
from tests.support.webrtc import LiveViewer
from tests.web.conftest import Served, add_users
from tests.web.test_browser import CHROMIUM, FLAGS, log_in, shot, wait_for_picture
from vms.app import App
from vms.config import Config
from vms.db.models import Gap, Segment
from vms.db.session import Database
from vms.web.live import TRANSCODED

pytestmark = pytest.mark.slow

FOOTAGE = "footage/one-by-one-person-detection.mp4"
LOOP_S = 16
CAMERAS = {  # id: (video, sound as the server sends it)
    "cam-pcma": ("h264", "pcma"),
    "cam-aac": ("h264", "aac"),
    "cam-hevc": ("h265", "pcmu"),
}
#: cam-aac's microphone drops out for a while (stream seconds; after the second segment, which
#: the playback test plays with its sound): the recording has an audio gap there.
PAUSE = {"cam-aac": (8.0, 3.0)}


@pytest.fixture(scope="module")
def served_av(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served-av")
    mounts = {}
    for cam, (video, sound) in CAMERAS.items():
        path, fps = prepare_video(
            shared_file(FOOTAGE), tmp / "media", codec=video, max_seconds=LOOP_S, gop=10
        )
        speech = prepare_speech(tmp / "media", sound, seconds=LOOP_S)
        mounts[f"/{cam}"] = Mount(path, fps, AudioTrack(sound, speech, PAUSE.get(cam)))
    with RtspServer(mounts) as rtsp:
        config = Config.model_validate(
            {
                "storage": {"root": str(tmp / "store")},
                "web": {"port": 0, "secure_cookies": False},
                "workers": {"cameras_per_process": 3},
                "cameras": [
                    {
                        "id": cam,
                        "kind": "street",
                        "site": "Test street",
                        "source": rtsp.url(f"/{cam}"),
                        "segment_seconds": 2,
                        "analysis_fps": 0,
                    }
                    for cam in CAMERAS
                ],
            }
        )
        app = App(config)
        app.start()
        try:
            db = Database(config.database_url)
            add_users(db)
            yield Served(app, config, db, rtsp)
            db.dispose()
        finally:
            app.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: scripts/setup --dev installs chromium", pytrace=False)
    profile = tempfile.mkdtemp(prefix="vms-chromium-")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


def _sounds(frames: list[Any]) -> np.ndarray[Any, Any]:
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float64)


def test_live_sound_g711_passes_through_aac_becomes_opus_h265_is_transcoded(
    served_av: Served, tmp_path: Path
) -> None:
    cookie = served_av.cookie("supervisor")
    sent = prepare_speech(tmp_path, "pcma", seconds=LOOP_S).read_bytes()  # what the camera sends

    async def watch(camera: str, frames: int) -> tuple[dict[str, Any], list[Any], Any]:
        async with LiveViewer(served_av.url, cookie, camera, audio=True) as viewer:
            picture = await viewer.frame(timeout=30)
            sounds = [await viewer.sound(timeout=30) for _ in range(frames)]
            return viewer.answer, sounds, picture

    # G.711 A-law: the camera's own bytes reach the viewer (aiortc decodes them; A-law is
    # re-encoded exactly, so every packet heard is a run of what the camera sent).
    answer, heard, picture = asyncio.run(watch("cam-pcma", 60))
    assert (answer["audio"], answer["transcoded"]) == ("PCMA", None)
    assert (picture.width, picture.height) == (768, 432)
    encoder = av.CodecContext.create("pcm_alaw", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 8000, "mono", "s16"
    loop = sent + sent
    runs = [b"".join(bytes(p) for p in encoder.encode(f)) for f in heard[20:]]
    assert all(len(r) == 160 and r in loop for r in runs), [len(r) for r in runs]
    assert np.sqrt((_sounds(heard[20:]) ** 2).mean()) > 300  # speech, not silence

    # AAC: decoded and sent as Opus (48 kHz), the speech heard.
    answer, heard, _ = asyncio.run(watch("cam-aac", 100))
    assert (answer["audio"], answer["transcoded"]) == ("opus", None)
    assert heard[-1].sample_rate == 48000
    assert np.sqrt((_sounds(heard[30:]) ** 2).mean()) > 300

    # H.265: transcoded for viewing (said so), its G.711 µ-law passed through.
    answer, heard, picture = asyncio.run(watch("cam-hevc", 40))
    assert (answer["audio"], answer["transcoded"]) == ("PCMU", TRANSCODED)
    assert (picture.width, picture.height) == (768, 432)
    assert float(np.asarray(picture.to_ndarray(format="gray")).std()) > 10


STATS = """async (tile) => {
  const pc = tile.live;
  const out = {audioTracks: pc.getReceivers().filter((r) => r.track.kind === "audio").length};
  for (const r of (await pc.getStats()).values()) {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out.packets = r.packetsReceived; out.energy = r.totalAudioEnergy || 0;
      const codec = r.codecId && (await pc.getStats()).get(r.codecId);
      out.codec = codec ? codec.mimeType : null;
    }
  }
  const v = tile.querySelector("video");
  out.width = v.videoWidth; out.t = v.currentTime;
  return out;
}"""


def test_live_wall_in_chromium_receives_the_sound(
    served_av: Served, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, served_av, "supervisor", "/live")
    for camera, codec in (("cam-pcma", "audio/PCMA"), ("cam-aac", "audio/opus")):
        tile = page.locator(f".tile[data-camera='{camera}']").element_handle()
        page.wait_for_function(
            "t => t.live && t.querySelector('video').videoWidth > 0", arg=tile, timeout=60_000
        )
        page.wait_for_function(
            f"async t => {{ const s = await ({STATS})(t); return s.packets > 25 && s.energy > 0 }}",
            arg=tile,
            timeout=30_000,
        )
        stats = tile.evaluate(STATS)
        assert stats["audioTracks"] == 1
        assert stats["codec"] == codec, stats
        assert stats["width"] == 768
    hevc = page.locator(".tile[data-camera='cam-hevc']")
    page.wait_for_function(
        "t => t.querySelector('video').videoWidth > 0", arg=hevc.element_handle(), timeout=60_000
    )
    assert hevc.get_attribute("data-transcoded") == "yes"
    page.wait_for_selector(".tile[data-camera='cam-hevc'] [data-status]:has-text('transcoded')")
    shot(page, "live-sound")


SOUND = """async (video) => {
  if (!window.__analyser) {
    const ctx = new AudioContext();
    const source = ctx.createMediaElementSource(video);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    source.connect(analyser);
    analyser.connect(ctx.destination);
    window.__analyser = analyser;
    window.__audio = ctx;
  }
  await window.__audio.resume();
  const buf = new Float32Array(2048);
  let peak = 0, bytes = 0;  // the count restarts when the page moves on to the next segment
  for (let i = 0; i < 30; i++) {
    window.__analyser.getFloatTimeDomainData(buf);
    for (const x of buf) peak = Math.max(peak, Math.abs(x));
    bytes = Math.max(bytes, video.webkitAudioDecodedByteCount);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {peak, bytes, muted: video.muted};
}"""


def test_playback_plays_h265_and_sound_in_chromium(
    served_av: Served, context: BrowserContext
) -> None:
    def second_segment(camera: str) -> Segment:
        def find() -> Segment | None:
            with served_av.db.session() as s:
                rows = s.scalars(
                    select(Segment)
                    .where(Segment.camera_id == camera, Segment.status == "complete")
                    .order_by(Segment.start)
                ).all()
            return rows[1] if len(rows) > 1 else None

        return wait_for(f"two segments of {camera}", find, 60)

    for camera, copy in (("cam-hevc", True), ("cam-pcma", False), ("cam-aac", False)):
        seg = second_segment(camera)
        original = (served_av.config.storage.root / seg.path).read_bytes()
        page = context.new_page()
        at = (seg.start + timedelta(seconds=0.3)).isoformat()
        log_in(page, served_av, "investigator", "/playback")
        page.goto(f"{served_av.url}/playback?camera={camera}&t={quote(at)}")
        player = f".player[data-camera='{camera}']"  # the review page's player of the camera
        video = page.locator(f"{player} video:not([hidden])")
        page.wait_for_function(
            "v => v.currentTime > 0.8 && v.videoWidth > 0", arg=video.element_handle()
        )
        state = wait_for_picture(page, video)  # a real picture, decoded
        assert (state["w"], state["h"]) == (768, 432)
        sound = video.evaluate(SOUND)
        assert sound["bytes"] > 0, (camera, sound)
        assert sound["peak"] > 0.02, sound  # speech, not silence
        note = page.locator(f"{player} .viewing-note")
        src = video.evaluate("v => v.currentSrc")
        if copy:  # H.265: no decoder in this Chromium; a viewing copy, said so
            assert note.is_visible()
            assert "transcoded for viewing; the evidence is the original" in note.inner_text()
            assert "/view?" in src
        else:  # G.711 in MOV and AAC in MP4 play as recorded
            assert not note.is_visible()
            assert "/video?" in src
        shot(page, f"playback-{camera}")
        page.close()
        # The evidence is untouched; the copy lives apart from it.
        assert (served_av.config.storage.root / seg.path).read_bytes() == original
    # Only the H.265 segments got viewing copies (the page plays on into the next segment).
    copies = list((served_av.config.storage.root / "cache" / "viewing").glob("*.mp4"))
    with served_av.db.session() as s:
        hevc = {
            str(i) for i in s.scalars(select(Segment.id).where(Segment.camera_id == "cam-hevc"))
        }
    assert copies
    assert {p.name.split("-")[0] for p in copies} <= hevc
    with av.open(str(copies[0])) as c:
        assert "VIEWING COPY" in c.metadata["comment"]
        assert [s.codec_context.name for s in c.streams] == ["h264", "aac"]


def test_playback_timeline_shows_the_audio_gap_and_plays_the_picture_through_it(
    served_av: Served, context: BrowserContext
) -> None:
    def closed_audio_gap() -> Gap | None:
        with served_av.db.session() as s:
            return s.scalars(
                select(Gap).where(
                    Gap.camera_id == "cam-aac", Gap.kind == "audio", Gap.end.is_not(None)
                )
            ).first()

    gap = wait_for("cam-aac's audio gap, closed", closed_audio_gap, 90)
    assert gap.end is not None
    assert gap.reason.startswith("audio lost")
    assert abs((gap.end - gap.start).total_seconds() - PAUSE["cam-aac"][1]) < 0.5
    inside = gap.start + (gap.end - gap.start) / 2
    page = context.new_page()
    log_in(page, served_av, "investigator", "/playback")
    page.goto(f"{served_av.url}/playback?camera=cam-aac&t={quote(inside.isoformat())}")
    # On the camera's lane: a band under the recorded range, not a hole, saying why.
    band = "#timeline .lane[data-camera=cam-aac] .audio-gap"
    page.wait_for_selector(band)
    assert "audio gap (picture without sound): audio lost" in str(page.get_attribute(band, "title"))
    # The picture of that moment plays: it was recorded, only its sound is missing.
    video = page.locator(".player[data-camera=cam-aac] video:not([hidden])")
    page.wait_for_function(
        "v => v.currentTime > 0.3 && v.videoWidth > 0", arg=video.element_handle()
    )
    wait_for_picture(page, video)
    assert page.inner_text("#playback-error") == ""
    shot(page, "playback-audio-gap")
    page.close()
