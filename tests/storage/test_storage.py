"""The object-storage tier on a real S3 store (SeaweedFS): verified uploads, reads from either
place, legal holds in the bucket, and evidence work unchanged for footage moved there."""

# ruff: noqa: F811 (fixtures imported from other modules are this module's parameters)
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from tests.bodyworn.conftest import NOW as BW_NOW
from tests.bodyworn.conftest import SUPERVISOR as BW_SET_UP
from tests.bodyworn.conftest import T_REC, Media, media  # noqa: F401 (the session fixture)
from tests.evidence.conftest import ALICE, T0, FakeClock, make_config, record_segments
from tests.support.seaweed import SeaweedServer
from tests.web.conftest import add_users, fake_health, login
from vms.bodyworn import officers
from vms.bodyworn.access import Who
from vms.bodyworn.copies import copy_out
from vms.bodyworn.ingest import CLI, Ingestor, Offer
from vms.bodyworn.models import BodywornFile
from vms.bootstrap import sync_cameras
from vms.config import Config, ObjectStoreConfig
from vms.db.models import Segment
from vms.db.session import Database
from vms.errors import FileIntegrityError
from vms.evidence import cases, export, holds, items, signing
from vms.evidence.audit import list_entries
from vms.evidence.retention import run_retention
from vms.ops.jobs import SegmentVerifier
from vms.recordings import verify_segments
from vms.storage.base import BUCKET, LOCAL, Storage
from vms.storage.resolve import storage_for
from vms.storage.s3 import S3Store
from vms.storage.tiering import TieringJob, TieringReport
from vms.web.app import create_app


def _bucket_config(root: Path, store: ObjectStoreConfig) -> Config:
    base = make_config(root)
    storage = base.storage.model_copy(update={"object_store": store})
    return base.model_copy(update={"storage": storage})


def test_s3_store_verifies_uploads_reads_ranges_and_honours_its_legal_hold(
    object_store: ObjectStoreConfig, seaweed: SeaweedServer, tmp_path: Path
) -> None:
    store = S3Store(object_store)
    data = bytes(range(256)) * 4096  # 1 MiB
    src = tmp_path / "a.bin"
    src.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    store.put("recordings/cam/a.bin", src, digest)
    assert store.object_lock  # created by vms with object lock
    assert store.size("recordings/cam/a.bin") == len(data)
    assert store.size("recordings/cam/none.bin") is None
    part = b"".join(store.read("recordings/cam/a.bin", 1000, 5000))
    assert part == data[1000:5000]
    with pytest.raises(FileNotFoundError):
        list(store.read("recordings/cam/none.bin"))
    # Bytes that do not hash to what the index recorded never land in the bucket.
    src.write_bytes(data[:-1] + b"!")
    with pytest.raises(FileIntegrityError):
        store.put("recordings/cam/b.bin", src, digest)
    assert store.size("recordings/cam/b.bin") is None
    # Held: not even the bucket's own API deletes it.
    assert store.set_hold("recordings/cam/a.bin", True)
    assert store.held("recordings/cam/a.bin")
    raw = seaweed.client()
    version = raw.head_object(Bucket=object_store.bucket, Key="recordings/cam/a.bin")["VersionId"]
    with pytest.raises(Exception, match=r"AccessDenied|Access Denied"):
        raw.delete_object(Bucket=object_store.bucket, Key="recordings/cam/a.bin", VersionId=version)
    # vms deletes only after its own hold check, lifting the bucket's hold first.
    Storage(store, store).delete(BUCKET, "recordings/cam/a.bin")
    assert store.size("recordings/cam/a.bin") is None
    listed = raw.list_object_versions(Bucket=object_store.bucket, Prefix="recordings/cam/a.bin")
    assert not listed.get("Versions")


def test_footage_moved_to_the_bucket_keeps_its_hash_clips_exports_and_survives_when_held(
    db: Database, object_store: ObjectStoreConfig, tmp_path: Path
) -> None:
    config = _bucket_config(tmp_path / "store", object_store)
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    clock = FakeClock(T0 + timedelta(hours=1))
    root = config.storage.root
    segs, _ = record_segments(db, root, "street-1", count=4)
    local_clip_case = "2026-S3"
    cases.create_case(db, clock, ALICE, local_clip_case, "Bucket footage")
    before = items.add_clip(
        db, config, clock, ALICE, local_clip_case, "street-1", segs[1].start, segs[2].end
    )
    # Hold segment 3's range (by itself, not through the clip), then move everything.
    holds.place_range_hold(db, clock, ALICE, "street-1", segs[3].start, segs[3].end)
    storage = storage_for(config)
    report = TieringJob(db, config, storage, clock)()
    assert not report.failed
    with db.session() as s:
        rows = {r.path: r for r in s.scalars(select(Segment))}
    assert {r.location for r in rows.values()} == {BUCKET}
    for seg in segs:  # the local copy is gone; the bucket's copy has the write-time hash
        assert not (root / seg.path).exists()
        assert storage.sha256(BUCKET, seg.path) == (seg.sha256, seg.bytes)
    assert items.get_item(db, before.id).location == BUCKET
    assert not (root / str(before.path)).exists()
    bucket = storage.store(BUCKET)
    assert isinstance(bucket, S3Store)
    assert bucket.held(segs[3].path)  # held range: S3 legal hold too
    assert bucket.held(str(before.path))  # a clip is held by its case
    assert not bucket.held(segs[0].path)

    # vms verify and the re-verification job read the bucket.
    assert {r.status for r in verify_segments(db, storage)} == {"ok"}
    verified = SegmentVerifier(db, config, clock, tmp_path / "cursor.json")()
    assert verified.checked
    assert verified.ok == verified.checked

    # A clip cut from bucket segments is the same file as one cut while they were local.
    after = items.add_clip(
        db, config, clock, ALICE, local_clip_case, "street-1", segs[1].start, segs[2].end
    )
    assert after.sha256 == before.sha256
    assert after.location == LOCAL
    out = export.export_case(db, config, clock, ALICE, local_clip_case, tmp_path / "export")
    checked = export.verify_package(out.path, (root / "keys" / signing.PUBLIC_KEY).read_bytes())
    assert checked.ok, checked.problems
    view, path = items.view_item(db, config, clock, ALICE, before.id)
    assert path is not None
    assert hashlib.sha256(path.read_bytes()).hexdigest() == view.sha256

    # Tampering in the bucket is found (an unheld object: a held one cannot be overwritten
    # in place either, but a new version could be written over it).
    bucket.client.put_object(Bucket=object_store.bucket, Key=segs[0].path, Body=b"not it")
    bad = {r.path: r.status for r in verify_segments(db, storage)}
    assert bad[segs[0].path] == "mismatch"

    # Retention, 40 days on: unheld bucket segments go (every version), held ones stay.
    clock.set(T0 + timedelta(days=40))
    run_retention(db, config, clock)
    with db.session() as s:
        left = set(s.scalars(select(Segment.path).where(Segment.camera_id == "street-1")))
    assert left == {segs[1].path, segs[2].path, segs[3].path}  # the clip's range, the hold
    assert bucket.size(segs[0].path) is None
    for seg in segs[1:]:
        assert storage.sha256(BUCKET, seg.path) == (seg.sha256, seg.bytes)


def test_a_body_worn_original_in_the_bucket_plays_copies_verifies_and_survives_when_held(
    db: Database, object_store: ObjectStoreConfig, media: Media, tmp_path: Path
) -> None:
    """Body-worn originals tier like camera segments, once ingested: the index's segment row
    says where each lives, and every door reads it from the bucket as from the disk."""
    later = object_store.model_copy(update={"upload_after_s": 3600.0})
    config = _bucket_config(tmp_path / "store", later)
    plain_http = config.web.model_copy(update={"secure_cookies": False})  # the test client's
    config = config.model_copy(update={"web": plain_http})
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    add_users(db)
    clock = FakeClock(BW_NOW)
    officer = officers.add_officer(
        db, clock, BW_SET_UP, "031245", "Li Wei", "Patrol 1", username="officer"
    )
    officers.add_device(db, clock, BW_SET_UP, "DSJ-A1")
    officers.assign(db, clock, BW_SET_UP, "DSJ-A1", "031245", start=T_REC - timedelta(days=30))
    ingestor = Ingestor(db, config, clock)
    ids = []
    for rec in (media.mp4, media.mp4_later):  # recorded hours before, ingested now
        got = ingestor.ingest_path(rec.path, Offer(rec.path.name, CLI, BW_SET_UP))
        assert got.file_id is not None, got.reason
        ids.append(got.file_id)
    held_id, free_id = ids
    # A clip cut while the original is on disk; the case holds the clip's range of it.
    cases.create_case(db, clock, ALICE, "2026-88", "Assault")
    clip_at = (T_REC + timedelta(seconds=1), T_REC + timedelta(seconds=4))
    before = items.add_clip(db, config, clock, ALICE, "2026-88", "bw.DSJ-A1", *clip_at)
    storage = storage_for(config)
    root = config.storage.root

    def rows() -> dict[int, tuple[BodywornFile, Segment]]:
        with db.session() as s:
            found = {}
            for file_id in ids:
                row = s.get(BodywornFile, file_id)
                assert row is not None
                assert row.segment_id is not None
                seg = s.get(Segment, row.segment_id)
                assert seg is not None
                found[file_id] = (row, seg)
            return found

    # Finished once ingested: it moves upload_after_s after its ingest, not after its end.
    assert not TieringJob(db, config, storage, clock)().moved
    assert {seg.location for _, seg in rows().values()} == {LOCAL}
    clock.advance(hours=2)
    report = TieringJob(db, config, storage, clock)()
    assert not report.failed
    moved = rows()
    assert {row.path for row, _ in moved.values()} <= set(report.moved)
    bucket = storage.store(BUCKET)
    assert isinstance(bucket, S3Store)
    for (row, seg), rec in zip(moved.values(), (media.mp4, media.mp4_later), strict=True):
        assert seg.location == BUCKET
        assert seg.path == row.path
        assert not (root / row.path).exists()  # verified against the write-time hash, then gone
        assert storage.sha256(BUCKET, row.path) == (rec.sha256, row.bytes)
    held_key, free_key = (moved[i][0].path for i in ids)
    assert bucket.held(held_key)  # under the case's hold: S3 legal hold too
    assert not bucket.held(free_key)

    # (d) vms verify and the re-verification job read it in the bucket.
    worn = [r for r in verify_segments(db, storage) if r.camera_id == "bw.DSJ-A1"]
    assert [(r.status, r.location) for r in worn] == [("ok", BUCKET)] * 2
    verified = SegmentVerifier(db, config, clock, tmp_path / "cursor.json")()
    assert verified.checked
    assert verified.ok == verified.checked

    # (a) Playback with range requests and the download, through the web app, audited alike.
    original = media.mp4.path.read_bytes()
    app = create_app(config, db, fake_health)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        login(client, "officer")
        play = client.post(f"/api/bodyworn/files/{held_id}/play", json={"reason": "review"})
        assert play.status_code == 200, play.text
        part = client.get(play.json()["url"], headers={"Range": "bytes=1000-4999"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 1000-4999/{len(original)}"
        assert part.content == original[1000:5000]
        got = client.get(f"/api/bodyworn/files/{held_id}/download", params={"reason": "court"})
        assert got.status_code == 200
        assert got.content == original
        assert got.headers["x-content-sha256"] == media.mp4.sha256
        assert "attachment" in got.headers["content-disposition"]
        # The camera routes serve a body-worn segment too (an investigator, under approval).
        login(client, "investigator")
        asked = client.post(
            f"/api/bodyworn/files/{held_id}/approvals",
            json={"action": "copy", "reason": "case 2026-88", "hours": 4},
        ).json()["id"]
        login(client, "supervisor")
        decided = client.post(
            f"/api/bodyworn/approvals/{asked}/decision", json={"grant": True, "reason": "ok"}
        )
        assert decided.json()["status"] == "granted"
        login(client, "investigator")
        seg_id = moved[held_id][1].id
        playing = client.post("/api/playback", json={"segment_id": seg_id, "reason": "review"})
        assert playing.status_code == 200, playing.text
        head = client.get(playing.json()["url"], headers={"Range": "bytes=0-99"})
        assert (head.status_code, head.content) == (206, original[:100])
        copy = client.get(
            f"/api/recordings/segments/{seg_id}/download",
            params={"reason": "court"},
            headers={"Range": "bytes=100-199"},
        )
        assert (copy.status_code, copy.content) == (206, original[100:200])
        assert copy.headers["x-content-sha256"] == media.mp4.sha256
    views = list_entries(db, action="view", object_type="bodyworn")
    assert [(e.actor, json.loads(e.details)["what"]) for e in views] == [
        ("officer", "playback"), ("investigator", "playback")
    ]  # fmt: skip
    [download, _] = list_entries(db, action="export", object_type="bodyworn")
    assert (download.actor, download.reason) == ("officer", "court")
    details = json.loads(download.details)
    assert (details["what"], details["sha256"], details["bytes"]) == (
        "download", media.mp4.sha256, len(original)
    )  # fmt: skip

    # (b) The copy out, a clip and the case's export, exactly as from the disk.
    who = Who("officer", officer.id, "officer")
    copied = copy_out(db, config, clock, who, held_id, tmp_path / "out", "for the court")
    assert copied.sha256 == media.mp4.sha256
    assert copied.path.read_bytes() == original
    after = items.add_clip(db, config, clock, ALICE, "2026-88", "bw.DSJ-A1", *clip_at)
    assert after.sha256 == before.sha256
    out = export.export_case(db, config, clock, ALICE, "2026-88", tmp_path / "export")
    checked = export.verify_package(out.path, (root / "keys" / signing.PUBLIC_KEY).read_bytes())
    assert checked.ok, checked.problems
    manifest = json.loads((out.path / "manifest.json").read_text())
    sources = {s["sha256"] for entry in manifest["items"] for s in entry["source_segments"]}
    assert sources == {media.mp4.sha256}

    # (c) Retention, seven months on: the unheld original goes from the bucket (every
    # version), the held one stays there, whole.
    clock.set(BW_NOW + timedelta(days=220))
    kept = run_retention(db, config, clock).bodyworn["kept_held"]
    assert [k["file_id"] for k in kept] == [held_id]  # its category expired: the hold keeps it
    with db.session() as s:
        status = {i: s.get(BodywornFile, i).status for i in ids}  # type: ignore[union-attr]
    assert status == {held_id: "active", free_id: "deleted"}
    assert bucket.size(free_key) is None
    raw = bucket.client.list_object_versions(Bucket=object_store.bucket, Prefix=free_key)
    assert not raw.get("Versions")
    assert storage.sha256(BUCKET, held_key) == (media.mp4.sha256, len(original))
    assert bucket.held(held_key)


class _DeletedWhileUploading(TieringJob):
    """Retention deletes each row just as its file reaches the bucket (the race, made sure)."""

    def _move(self, key: str, sha256: str, held: bool, report: TieringReport) -> bool:
        stored = super()._move(key, sha256, held, report)
        with self.db.session() as s:
            s.execute(delete(Segment).where(Segment.path == key))
        return stored


def test_a_file_deleted_while_it_was_uploaded_leaves_no_copy_in_the_bucket(
    db: Database, object_store: ObjectStoreConfig, tmp_path: Path
) -> None:
    config = _bucket_config(tmp_path / "store", object_store)
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    clock = FakeClock(T0 + timedelta(hours=1))
    segs, _ = record_segments(db, config.storage.root, "street-1", count=1)
    storage = storage_for(config)
    report = _DeletedWhileUploading(db, config, storage, clock)()
    assert report.moved == []
    assert storage.size(BUCKET, segs[0].path) is None
    assert storage.size(LOCAL, segs[0].path) is None
