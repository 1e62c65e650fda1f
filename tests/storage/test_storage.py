"""The object-storage tier on a real S3 store (SeaweedFS): verified uploads, reads from either
place, legal holds in the bucket, and evidence work unchanged for footage moved there."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.evidence.conftest import ALICE, T0, FakeClock, make_config, record_segments
from tests.support.seaweed import SeaweedServer
from vms.bootstrap import sync_cameras
from vms.config import Config, ObjectStoreConfig
from vms.db.models import Camera, Segment
from vms.db.session import Database
from vms.errors import FileIntegrityError
from vms.evidence import cases, export, holds, items, signing
from vms.evidence.retention import run_retention
from vms.ops.jobs import SegmentVerifier
from vms.recordings import verify_segments
from vms.storage.base import BUCKET, LOCAL, Storage
from vms.storage.resolve import storage_for
from vms.storage.s3 import S3Store
from vms.storage.tiering import TieringJob


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
    # A body-worn recorder's original (read from the storage root by its own routes): stays.
    with db.session() as s:
        s.add(
            Camera(
                id="bw.T1", name="Body-worn T1", kind="bodyworn", site="S", room=None,
                room_type=None, source="bodyworn:T1", record=False, retention_days=180,
                updated_at=T0,
            )
        )  # fmt: skip
    worn, _ = record_segments(db, root, "bw.T1", count=1)
    storage = storage_for(config)
    report = TieringJob(db, config, storage, clock)()
    assert not report.failed
    with db.session() as s:
        rows = {r.path: r for r in s.scalars(select(Segment).where(Segment.camera_id != "bw.T1"))}
        (kept,) = s.scalars(select(Segment).where(Segment.camera_id == "bw.T1"))
    assert {r.location for r in rows.values()} == {BUCKET}
    assert kept.location == LOCAL
    assert (root / worn[0].path).exists()
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
