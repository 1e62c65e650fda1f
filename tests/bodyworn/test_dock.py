"""Dock folders: a slow copy and a copy killed halfway are never stored half; a dock that goes
away is reported and comes back; files are read once, deduplicated, optionally removed."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from tests.bodyworn.conftest import Bw, Media
from tests.bodyworn.media import make_recording
from tests.conftest import shared_file
from vms.bodyworn.config import DockConfig
from vms.bodyworn.dock import DockWatcher, dock_files
from vms.bodyworn.files import get_file
from vms.bodyworn.ingest import Ingestor
from vms.bodyworn.models import BodywornFile, IngestRecord
from vms.evidence.audit import list_entries

SLOW_COPY = """
import sys, time
src, dst = sys.argv[1], sys.argv[2]
chunk, pause, stop_at = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
with open(src, "rb") as fin, open(dst, "wb") as fout:
    done = 0
    while block := fin.read(chunk):
        fout.write(block); fout.flush(); done += len(block)
        if stop_at and done >= stop_at:
            stop_at = 0
            print("half", flush=True)
            sys.stdin.readline()  # a stalled copy: go on when told (or be killed here)
        time.sleep(pause)
"""


def _watcher(bw: Bw, *docks: DockConfig, settle_s: float = 1.0) -> DockWatcher:
    bodyworn = bw.config.bodyworn.model_copy(update={"docks": list(docks), "settle_s": settle_s})
    config = bw.config.model_copy(update={"bodyworn": bodyworn})
    return DockWatcher(Ingestor(bw.db, config, bw.clock))


def _scan(watcher: DockWatcher, bw: Bw, times: int = 1) -> list[dict[str, object]]:
    results = []
    for _ in range(times):
        bw.clock.advance(seconds=2)  # longer than settle_s between two scans
        results += watcher.scan().results
    return results


def _stored(bw: Bw) -> list[BodywornFile]:
    with bw.db.session() as s:
        return list(s.scalars(select(BodywornFile).order_by(BodywornFile.id)))


def test_a_slow_copy_is_stored_once_complete_and_never_half(
    bw: Bw, media: Media, tmp_path: Path
) -> None:
    dock = DockConfig(id="station-1", path=tmp_path / "dock1")
    (dock.path / "DSJ-A1").mkdir(parents=True)
    # Header first (faststart): a partial copy opens, and the probe sees packets missing.
    rec = make_recording(
        tmp_path / "src" / "DSJ-A1_20261130160000_0009.MP4", seconds=6, offset_s=80,
        faststart=True, work=tmp_path / "work",
    )  # fmt: skip
    target = dock.path / "DSJ-A1" / rec.path.name
    watcher = _watcher(bw, dock)
    half = rec.path.stat().st_size // 2
    copier = subprocess.Popen(
        [sys.executable, "-c", SLOW_COPY, str(rec.path), str(target), "8192", "0.02", str(half)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert copier.stdin is not None
    assert copier.stdout is not None
    seen: list[str] = []
    try:
        # The copy stalls halfway for longer than settle_s: tried, found incomplete.
        assert copier.stdout.readline().strip() == "half"
        stalled = _scan(watcher, bw, times=2)
        assert [r["result"] for r in stalled] == ["incomplete"]
        assert "packets its header declares" in str(stalled[0]["reason"])
        copier.stdin.write("go\n")
        copier.stdin.flush()
        while copier.poll() is None:
            seen += [str(r["result"]) for r in _scan(watcher, bw)]
            threading.Event().wait(0.03)
    finally:
        copier.wait(30)
        copier.stdin.close()
        copier.stdout.close()
    assert copier.returncode == 0
    seen += [str(r["result"]) for r in _scan(watcher, bw, times=2)]
    assert seen[-1] == "stored"
    assert set(seen) <= {"incomplete", "stored"}, seen
    files = _stored(bw)
    assert [f.sha256 for f in files] == [rec.sha256]
    assert get_file(bw.db, files[0].id).device == "DSJ-A1"
    assert files[0].source == "dock"
    assert files[0].dock_id == "station-1"
    # Read once: more scans change nothing.
    assert _scan(watcher, bw, times=2) == []
    assert [d.status for d in dock_files(bw.db)] == ["stored"]


def test_a_copy_killed_halfway_is_not_stored_until_copied_again(
    bw: Bw, media: Media, tmp_path: Path
) -> None:
    dock = DockConfig(id="station-2", path=tmp_path / "dock2")
    dock.path.mkdir()
    target = dock.path / media.mp4.path.name
    half = media.mp4.path.stat().st_size // 2
    copier = subprocess.Popen(
        [sys.executable, "-c", SLOW_COPY, str(media.mp4.path), str(target), "4096", "0",
         str(half)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert copier.stdin is not None
    assert copier.stdout is not None
    assert copier.stdout.readline().strip() == "half"
    copier.send_signal(signal.SIGKILL)
    copier.wait(30)
    copier.stdin.close()
    copier.stdout.close()
    watcher = _watcher(bw, dock)
    results = _scan(watcher, bw, times=3)
    assert [r["result"] for r in results] == ["incomplete"]  # tried once, then left alone
    assert "not a readable video file" in str(results[0]["reason"])
    assert _stored(bw) == []
    [row] = dock_files(bw.db)
    assert (row.status, row.bytes) == ("incomplete", target.stat().st_size)
    assert target.exists()  # nothing taken from the dock
    # The dock copies the file again, whole: stored.
    shutil.copyfile(media.mp4.path, target)
    results = _scan(watcher, bw, times=2)
    assert [r["result"] for r in results] == ["stored"]
    assert [f.sha256 for f in _stored(bw)] == [media.mp4.sha256]
    with bw.db.session() as s:
        logged = [r.result for r in s.scalars(select(IngestRecord))]
    assert logged == ["stored"]  # the half copy was never stored nor rejected


def test_a_dock_that_goes_away_is_reported_and_scanned_again(
    bw: Bw, media: Media, tmp_path: Path
) -> None:
    gone = DockConfig(id="station-3", path=tmp_path / "dock3")
    other = DockConfig(id="station-4", path=tmp_path / "dock4")
    gone.path.mkdir()
    other.path.mkdir()
    shutil.copyfile(media.mp4.path, gone.path / media.mp4.path.name)
    shutil.copyfile(media.mov.path, other.path / media.mov.path.name)
    watcher = _watcher(bw, gone, other)
    away = tmp_path / "unplugged"
    gone.path.rename(away)
    bw.clock.advance(seconds=2)
    report = watcher.scan()
    bw.clock.advance(seconds=2)
    report = watcher.scan()
    states = {d.dock_id: d for d in report.docks}
    assert not states["station-3"].online
    assert "cannot read dock folder" in states["station-3"].message
    assert states["station-4"].online
    assert [r["result"] for r in report.results] == ["stored"]  # the other dock goes on
    away.rename(gone.path)
    results = _scan(watcher, bw, times=2)
    assert [r["result"] for r in results] == ["stored"]
    assert {f.sha256 for f in _stored(bw)} == {media.mp4.sha256, media.mov.sha256}


def test_hostile_and_duplicate_files_and_deleting_after_ingest(
    bw: Bw, media: Media, tmp_path: Path
) -> None:
    first = DockConfig(id="station-5", path=tmp_path / "dock5", after_ingest="delete")
    second = DockConfig(id="station-6", path=tmp_path / "dock6", after_ingest="delete")
    (first.path / "DSJ-A1").mkdir(parents=True)
    second.path.mkdir()
    shutil.copyfile(media.mp4.path, first.path / "DSJ-A1" / media.mp4.path.name)
    shutil.copyfile(media.mp4.path, second.path / "copy-of-the-same.mp4")
    hostile = first.path / "DSJ-A1" / "crash.avi"
    shutil.copyfile(shared_file("hostile/crashes-opencv-48x48.avi"), hostile)
    watcher = _watcher(bw, first, second)
    results = {str(r["path"]): r for r in _scan(watcher, bw, times=2)}
    assert results["DSJ-A1/" + media.mp4.path.name]["result"] == "stored"
    assert results["copy-of-the-same.mp4"]["result"] == "duplicate"
    assert results["DSJ-A1/crash.avi"]["result"] == "rejected"
    assert "rawvideo" in str(results["DSJ-A1/crash.avi"]["reason"])
    assert len(_stored(bw)) == 1
    # Stored and duplicate copies were verified and removed; the rejected file stays.
    assert not (first.path / "DSJ-A1" / media.mp4.path.name).exists()
    assert not (second.path / "copy-of-the-same.mp4").exists()
    assert hostile.exists()
    assert _scan(watcher, bw, times=2) == []  # not tried again until it changes
    [entry] = list_entries(bw.db, object_type="bodyworn", action="reject")
    assert entry.actor == "dock:station-5"
