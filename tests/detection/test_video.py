"""Reading untrusted video in a child process: timestamps from the file, crashes contained."""

from __future__ import annotations

import itertools
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from tests.conftest import shared_file
from vms.detection.video import isolated, probe, read_frames
from vms.errors import VideoError

HOSTILE = "hostile/crashes-opencv-48x48.avi"


def test_frames_at_the_analysis_rate_with_the_file_s_own_times() -> None:
    times = [t for t, _ in read_frames(shared_file("footage/one-by-one-person-detection.mp4"), 2)]
    assert times[:3] == pytest.approx([0.0, 0.5, 1.0])
    assert len(times) == pytest.approx(139.4 * 2, abs=2)


def test_gif_and_avi_times_rise_even_when_the_container_s_do_not() -> None:
    gif = [t for t, _ in read_frames(shared_file("footage/classroom.gif"))]
    assert len(gif) == 45
    assert gif[-1] == pytest.approx(2.93, abs=0.01)
    avi = [t for t, _ in read_frames(shared_file("footage/traffic-cctv-no-people.avi"))]
    assert all(b > a for a, b in itertools.pairwise(avi))


def test_probe() -> None:
    info = probe(shared_file("footage/urfd-fall-01-cam0.mp4"))
    assert (info.width, info.height, info.codec) == (640, 240, "h264")
    assert info.fps == pytest.approx(30)


def test_the_hostile_file_is_read_without_harm_by_pyav() -> None:
    frames = list(read_frames(shared_file(HOSTILE)))
    assert len(frames) == 51
    assert frames[0][1].shape == (48, 48, 3)


def _open_with_opencv(conn: Connection, path: str) -> None:
    import cv2

    capture = cv2.VideoCapture(path)
    while capture.read()[0]:
        pass
    capture.release()  # heap corruption: glibc aborts the process here (OpenCV 4.14 / 5.0)
    conn.send(("end", None))


def test_a_native_crash_in_the_child_is_reported_not_fatal() -> None:
    messages = isolated(f"{__name__}:_open_with_opencv", str(shared_file(HOSTILE)), what="bad")
    with pytest.raises(VideoError, match=r"crashed \((killed by SIG\w+|exit code -?\d+)\)"):
        list(messages)


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_unreadable_files_are_a_video_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(VideoError, match=r"bad\.mp4"):
        probe(bad)


def test_a_missing_file_is_a_video_error(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no such file"):
        probe(tmp_path / "none.mp4")
