"""Signed export packages and their offline verification."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import shared_file
from tests.evidence.conftest import ALICE, CASE, EXPORTER, T0, Recorded
from tests.support.clock import FakeClock
from vms.config import Config
from vms.db.models import Event
from vms.db.session import Database
from vms.errors import ConflictError, FileIntegrityError, SigningError
from vms.evidence import audit, export, items, signing

OPENSSL_VERIFY = ["openssl", "pkeyutl", "-verify", "-pubin", "-rawin", "-sigfile", "manifest.sig"]


def _flip(path: Path, at: int | None = None) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if at is None else at] ^= 0x01
    path.write_bytes(bytes(data))


def test_export_writes_a_signed_manifest_that_verifies_offline(
    store: Database,
    config: Config,
    clock: FakeClock,
    tmp_path: Path,
    case_with_clips: tuple[list[Recorded], list[items.ItemView]],
) -> None:
    segments, made = case_with_clips
    snapshot = config.storage.root / "snapshots" / "e1.jpg"
    snapshot.parent.mkdir()
    shutil.copyfile(shared_file("footage/avenue-frames/avenue_train10_0001.jpg"), snapshot)
    with store.session() as s:
        event = Event(
            type="person_down",
            camera_id="cell-1",
            start=T0,
            end=T0 + timedelta(seconds=20),
            severity="critical",
            data={"snapshot": "snapshots/e1.jpg"},
        )
        s.add(event)
        s.flush()
        event_id = event.id
    shown = items.add_event(store, config, clock, ALICE, CASE, event_id)
    out = tmp_path / "package"

    result = export.export_case(store, config, clock, EXPORTER, CASE, out)

    manifest_bytes = (out / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    assert result.manifest_sha256 == hashlib.sha256(manifest_bytes).hexdigest()
    assert manifest["case"]["number"] == CASE
    assert manifest["case"]["investigators"] == ["bob"]
    assert (manifest["exported_by"], manifest["reason"]) == (EXPORTER.user, EXPORTER.reason)
    assert datetime.fromisoformat(manifest["exported_at"]) == clock.now()
    assert [c["id"] for c in manifest["cameras"]] == ["cell-1", "street-1"]
    assert manifest["cameras"][0]["room"] == "Cell 1"
    assert [i["id"] for i in manifest["items"]] == [m.id for m in made] + [shown.id]
    *clips, event_entry = manifest["items"]
    sources = [s for i in clips for s in i["source_segments"]]
    assert [(s["path"], s["sha256"]) for s in sources] == [(s.path, s.sha256) for s in segments]
    assert [i["file"]["sha256"] for i in clips] == [m.sha256 for m in made]
    assert (event_entry["event"]["id"], event_entry["event"]["type"]) == (event_id, "person_down")
    assert event_entry["file"]["path"].startswith("snapshots/event-")
    assert event_entry["file"]["sha256"] == hashlib.sha256(snapshot.read_bytes()).hexdigest()
    clip_entries = [i["file"] for i in manifest["items"]]
    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert {f["path"] for f in manifest["files"]} == {
        *(f["path"] for f in clip_entries),
        "README.txt",
        "SHA256SUMS",
    }
    assert manifest["audit_chain_head"]["seq"] == len(audit.list_entries(store)) - 1
    # The key pair was made on first use; the public key travels with the package.
    keys = config.storage.root / "keys"
    assert (keys / signing.PRIVATE_KEY).stat().st_mode & 0o077 == 0
    assert (out / signing.PUBLIC_KEY).read_bytes() == (keys / signing.PUBLIC_KEY).read_bytes()
    assert manifest["signature"]["public_key_sha256"] == result.key_fingerprint
    (entry,) = audit.list_entries(store, action="export")
    assert (entry.actor, entry.reason, entry.case_number) == (EXPORTER.user, EXPORTER.reason, CASE)
    assert json.loads(entry.details)["manifest_sha256"] == result.manifest_sha256

    report = export.verify_package(out, trusted_key=(keys / signing.PUBLIC_KEY).read_bytes())
    assert report.ok, report.problems
    assert (report.ok_files, report.trusted_key, report.case_number) == (5, True, CASE)
    # Without vms: OpenSSL checks the signature, sha256sum the files.
    openssl = subprocess.run(
        [*OPENSSL_VERIFY, "-inkey", signing.PUBLIC_KEY, "-in", "manifest.json"],
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Signature Verified Successfully" in openssl.stdout, openssl.stderr
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0, sums.stdout

    # A second export reuses the same key.
    again = export.export_case(store, config, clock, EXPORTER, CASE, tmp_path / "second")
    assert again.key_fingerprint == result.key_fingerprint
    with pytest.raises(ConflictError, match="already exists"):
        export.export_case(store, config, clock, EXPORTER, CASE, out)


def test_flipping_one_byte_of_an_exported_clip_fails_verify_and_names_it(
    store: Database,
    config: Config,
    clock: FakeClock,
    tmp_path: Path,
    case_with_clips: tuple[list[Recorded], list[items.ItemView]],
) -> None:
    out = tmp_path / "package"
    export.export_case(store, config, clock, EXPORTER, CASE, out)
    manifest = json.loads((out / "manifest.json").read_bytes())
    victim = manifest["items"][1]["file"]["path"]
    _flip(out / victim)

    res = subprocess.run(
        [sys.executable, "-m", "vms.cli", "evidence", "verify", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert res.returncode == 1, res.stdout + res.stderr
    assert f"ALTERED {victim}" in res.stdout
    assert "FAILED" in res.stdout
    report = export.verify_package(out, (out / signing.PUBLIC_KEY).read_bytes())
    assert [(p.path, p.kind) for p in report.problems] == [(victim, "altered")]


def test_verify_names_missing_added_and_resigned_files(
    store: Database,
    config: Config,
    clock: FakeClock,
    tmp_path: Path,
    case_with_clips: tuple[list[Recorded], list[items.ItemView]],
) -> None:
    out = tmp_path / "package"
    export.export_case(store, config, clock, EXPORTER, CASE, out)
    trusted = (out / signing.PUBLIC_KEY).read_bytes()
    manifest = json.loads((out / "manifest.json").read_bytes())
    first = manifest["items"][0]["file"]["path"]
    (out / first).unlink()
    (out / "clips" / "extra.mp4").write_bytes(b"not evidence")
    report = export.verify_package(out, trusted)
    assert [(p.path, p.kind) for p in report.problems] == [
        (first, "missing"),
        ("clips/extra.mp4", "unexpected"),
    ]

    # Someone edits the manifest (to cover an altered clip) and signs it with their own key.
    manifest["exported_by"] = "nobody"
    data = json.dumps(manifest).encode()
    (out / "manifest.json").write_bytes(data)
    assert [p.kind for p in export.verify_package(out, trusted).problems] == [
        "signature",
        "missing",
        "unexpected",
    ]
    forger = Ed25519PrivateKey.generate()
    (out / "manifest.sig").write_bytes(forger.sign(data))
    (out / signing.PUBLIC_KEY).write_bytes(signing.public_pem(forger.public_key()))
    kinds = [(p.path, p.kind) for p in export.verify_package(out, trusted).problems]
    assert kinds[:2] == [(signing.PUBLIC_KEY, "key"), (signing.PUBLIC_KEY, "untrusted")]
    # Without a trusted key the manifest still names the key that really signed it.
    untrusted = export.verify_package(out)
    assert [(p.path, p.kind) for p in untrusted.problems] == [
        (signing.PUBLIC_KEY, "key"),
        (signing.PUBLIC_KEY, "untrusted"),
        (first, "missing"),
        ("clips/extra.mp4", "unexpected"),
    ]
    assert untrusted.key_fingerprint == signing.fingerprint(forger.public_key())
    assert untrusted.key_fingerprint != signing.fingerprint(signing.load_public(trusted, "key"))
    (out / "manifest.json").unlink()
    assert [(p.path, p.kind) for p in export.verify_package(out).problems] == [
        ("manifest.json", "missing")
    ]


def test_an_altered_evidence_file_is_never_exported(
    store: Database,
    config: Config,
    clock: FakeClock,
    tmp_path: Path,
    case_with_clips: tuple[list[Recorded], list[items.ItemView]],
) -> None:
    _segments, made = case_with_clips
    assert made[0].path is not None
    _flip(config.storage.root / made[0].path)
    out = tmp_path / "package"
    with pytest.raises(FileIntegrityError, match=f"item {made[0].id}"):
        export.export_case(store, config, clock, EXPORTER, CASE, out)
    assert not out.exists()
    assert not (tmp_path / "package.partial").exists()
    assert audit.list_entries(store, action="export") == []


def test_a_passphrase_protects_the_private_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(signing.PASSPHRASE_ENV, "correct horse")
    key = signing.load_or_create_key(tmp_path / "keys")
    pem = (tmp_path / "keys" / signing.PRIVATE_KEY).read_bytes()
    assert b"ENCRYPTED" in pem
    assert signing.load_or_create_key(tmp_path / "keys").public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    monkeypatch.delenv(signing.PASSPHRASE_ENV)
    with pytest.raises(SigningError, match=signing.PASSPHRASE_ENV):
        signing.load_or_create_key(tmp_path / "keys")
