"""Trust anchors: who signed a package, whether the bureau published that key; zips verified
as downloaded; key rotation and revocation."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner, Result

from tests.conftest import shared_file
from tests.evidence.conftest import ALICE, CASE, EXPORTER, T0
from tests.support.clock import FakeClock
from vms.cli import app
from vms.config import Config
from vms.db.models import Event
from vms.db.session import Database
from vms.errors import ConflictError, InvalidError
from vms.evidence import audit, export, keys, signing, trust
from vms.evidence.audit import Actor
from vms.evidence.cases import create_case
from vms.evidence.items import add_event
from vms.evidence.trust import TrustStore

ADMIN = Actor("root", "annual key rotation, order 2026/4")


@pytest.fixture
def snap_case(store: Database, config: Config, clock: FakeClock) -> None:
    """Case 2026-17 with one event and its snapshot: a package without recording anything."""
    snapshot = config.storage.root / "snapshots" / "e1.jpg"
    snapshot.parent.mkdir(parents=True)
    shutil.copyfile(shared_file("footage/avenue-frames/avenue_train10_0001.jpg"), snapshot)
    with store.session() as s:
        event = Event(type="loitering", camera_id="street-1", start=T0, severity="warning",
                      data={"snapshot": "snapshots/e1.jpg"})  # fmt: skip
        s.add(event)
        s.flush()
        event_id = event.id
    create_case(store, clock, ALICE, CASE, "Assault in the hall")
    add_event(store, config, clock, ALICE, CASE, event_id)


def _cli(*args: str) -> Result:
    """``vms evidence ...`` in this process (the command's own code, without a new Python)."""
    return CliRunner().invoke(app, ["evidence", *args])


def _config_file(config: Config, tmp_path: Path) -> Path:
    path = tmp_path / "vms.yaml"
    path.write_text(
        f"storage: {{root: {config.storage.root}}}\n"
        "cameras:\n  - {id: street-1, kind: street, site: s, source: 'synthetic://a'}\n"
    )
    return path


def _resign(folder: Path, forger: Ed25519PrivateKey, **changes: object) -> None:
    """What a forger does: edit the manifest, name their own key in it, sign it, ship the key."""
    manifest = json.loads((folder / "manifest.json").read_bytes())
    manifest.update(changes)
    manifest["signature"]["public_key_sha256"] = signing.fingerprint(forger.public_key())
    data = json.dumps(manifest, indent=2, sort_keys=True).encode()
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.sig").write_bytes(forger.sign(data))
    (folder / signing.PUBLIC_KEY).write_bytes(signing.public_pem(forger.public_key()))


def _zip(folder: Path) -> Path:
    """The package zipped as the web app serves it: the folder inside the zip."""
    return Path(shutil.make_archive(str(folder), "zip", folder.parent, folder.name))


def test_a_package_resigned_with_another_key_fails_against_every_anchor(
    store: Database, config: Config, clock: FakeClock, tmp_path: Path, snap_case: None
) -> None:
    out = tmp_path / "package"
    result = export.export_case(store, config, clock, EXPORTER, CASE, out)
    registry = tmp_path / "published-keys.json"
    keys.publish(config, clock, registry)
    genuine = export.verify_package(out, trust=_store(registry))
    assert genuine.ok, genuine.problems
    assert genuine.key_fingerprint == result.key_fingerprint
    assert genuine.known_key is not None
    assert genuine.known_key.status == trust.CURRENT
    assert f"signed by key {result.key_fingerprint}" in genuine.signer()
    assert f"published by {registry}" in genuine.signer()

    forger = Ed25519PrivateKey.generate()
    _resign(out, forger, exported_by="nobody")
    forged = signing.fingerprint(forger.public_key())

    for anchors in (_store(registry), _installation(config), None):
        report = export.verify_package(out, trust=anchors)
        assert not report.ok
        assert report.key_fingerprint == forged
        assert [(p.path, p.kind) for p in report.problems] == [(signing.PUBLIC_KEY, "untrusted")], (
            report.problems
        )
        assert f"signed by key {forged}" in report.signer()
        assert "NOT" in report.signer()

    res = _cli("verify", str(out), "--config", str(_config_file(config, tmp_path)))
    assert res.exit_code == 1, res.stdout
    assert f"UNTRUSTED {signing.PUBLIC_KEY}" in res.stdout
    assert f"signed by key {forged}, which is NOT a known key of this installation" in res.stdout


def test_a_manifest_naming_another_key_than_the_shipped_one_fails(
    store: Database, config: Config, clock: FakeClock, tmp_path: Path, snap_case: None
) -> None:
    out = tmp_path / "package"
    result = export.export_case(store, config, clock, EXPORTER, CASE, out)
    forger = Ed25519PrivateKey.generate()
    _resign(out, forger)
    manifest = json.loads((out / "manifest.json").read_bytes())
    manifest["signature"]["public_key_sha256"] = result.key_fingerprint  # left as it was
    data = json.dumps(manifest).encode()
    (out / "manifest.json").write_bytes(data)
    (out / "manifest.sig").write_bytes(forger.sign(data))
    # Even a verifier who trusts the forger's key sees that the manifest names another one.
    anchors = TrustStore()
    anchors.add_pem(signing.public_pem(forger.public_key()), "forger")
    report = export.verify_package(out, trust=anchors)
    assert [(p.path, p.kind) for p in report.problems] == [(signing.PUBLIC_KEY, "key")]
    assert f"names signing key {result.key_fingerprint}" in report.problems[0].message


def test_verify_reads_the_downloaded_zip_directly(
    store: Database, config: Config, clock: FakeClock, tmp_path: Path, snap_case: None
) -> None:
    out = tmp_path / "package"
    result = export.export_case(store, config, clock, EXPORTER, CASE, out)
    archive = _zip(out)
    cfg = _config_file(config, tmp_path)

    res = _cli("verify", str(archive), "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert "OK: case 2026-17, 3 file(s) intact, 0 problem(s)" in res.stdout
    assert f"signed by key {result.key_fingerprint}" in res.stdout
    assert "published by this installation" in res.stdout
    as_json = json.loads(_cli("verify", str(archive), "--config", str(cfg), "--json").stdout)
    assert (as_json["ok"], as_json["trusted_key"]) == (True, True)
    assert as_json["key"]["status"] == "current"

    # One byte of a clip changed inside the zip: named, as in a folder.
    victim = json.loads((out / "manifest.json").read_bytes())["items"][0]["file"]["path"]
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == f"package/{victim}":
                data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
            dst.writestr(info, data)
        dst.writestr("package/clips/extra.mp4", b"not evidence")
    report = export.verify_package(tampered, trust=_installation(config))
    assert [(p.path, p.kind) for p in report.problems] == [
        (victim, "altered"),
        ("clips/extra.mp4", "unexpected"),
    ]
    res = _cli("verify", str(tampered), "--config", str(cfg))
    assert res.exit_code == 1
    assert f"ALTERED {victim}" in res.stdout


def test_a_zip_with_a_name_twice_or_an_unsafe_name_is_refused(
    store: Database, config: Config, clock: FakeClock, tmp_path: Path, snap_case: None
) -> None:
    out = tmp_path / "package"
    export.export_case(store, config, clock, EXPORTER, CASE, out)
    archive = _zip(out)
    with zipfile.ZipFile(archive, "a") as z:
        with pytest.warns(UserWarning, match="Duplicate name"):
            z.writestr("package/README.txt", b"a second, different readme")
        z.writestr("package/../../etc/cron.d/x", b"* * * * * root true")
    report = export.verify_package(archive, trust=_installation(config))
    kinds = sorted((p.kind, p.path) for p in report.problems)
    assert kinds == [("unexpected", "../../etc/cron.d/x"), ("unexpected", "README.txt")], kinds
    with pytest.raises(InvalidError, match="neither an export package folder nor its zip"):
        export.verify_package(tmp_path / "vms.db-does-not-exist")


def test_rotation_retires_the_old_key_and_revocation_distrusts_its_packages(
    store: Database, config: Config, clock: FakeClock, tmp_path: Path, snap_case: None
) -> None:
    before = export.export_case(store, config, clock, EXPORTER, CASE, tmp_path / "before")
    keys_dir = signing.keys_dir(config)
    old_private = (keys_dir / signing.PRIVATE_KEY).read_bytes()
    clock.advance(days=1)
    old, new = keys.rotate(store, config, clock, ADMIN)
    assert old == before.key_fingerprint != new
    assert (keys_dir / signing.PRIVATE_KEY).read_bytes() != old_private
    clock.advance(hours=1)
    after = export.export_case(store, config, clock, EXPORTER, CASE, tmp_path / "after")
    assert after.key_fingerprint == new
    registry = tmp_path / "registry.json"
    keys.publish(config, clock, registry)

    first = export.verify_package(tmp_path / "before", trust=_store(registry))
    second = export.verify_package(tmp_path / "after", trust=_store(registry))
    assert first.ok, first.problems
    assert second.ok, second.problems
    assert first.known_key is not None
    assert first.known_key.status == trust.RETIRED
    assert "retired" in first.signer()

    with pytest.raises(ConflictError, match="rotate it"):
        keys.revoke(store, config, clock, Actor("root", "leak"), new)
    keys.revoke(store, config, clock, Actor("root", "key file found on a lost laptop"), old)
    keys.publish(config, clock, registry)
    revoked = export.verify_package(tmp_path / "before", trust=_store(registry))
    assert [(p.kind, p.path) for p in revoked.problems] == [("untrusted", signing.PUBLIC_KEY)]
    assert "revoked" in revoked.problems[0].message
    assert "lost laptop" in revoked.problems[0].message
    assert export.verify_package(tmp_path / "after", trust=_store(registry)).ok
    acts = [
        (e.actor, e.action, e.object_type, json.loads(e.details)["what"])
        for e in audit.list_entries(store, object_type="signing_key")
    ]
    assert acts == [("root", "update", "signing_key", "rotate")] * 1 + [
        ("root", "update", "signing_key", "revoke")
    ]


def test_a_package_dated_after_its_key_was_retired_fails(tmp_path: Path) -> None:
    """A retired key's holder (a copy of the old private key) cannot sign new packages."""
    key = Ed25519PrivateKey.generate()
    fp = signing.fingerprint(key.public_key())
    folder = tmp_path / "pkg"
    folder.mkdir()
    manifest = {
        "case": {"number": "X-1"},
        "exported_at": "2027-01-01T00:00:00+00:00",
        "files": [],
        "signature": {"public_key_sha256": fp},
    }
    data = json.dumps(manifest).encode()
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.sig").write_bytes(key.sign(data))
    (folder / signing.PUBLIC_KEY).write_bytes(signing.public_pem(key.public_key()))
    registry = {
        "format": trust.FORMAT,
        "keys": [{"fingerprint": fp, "label": "2026 key", "retired_at": "2026-06-01T00:00:00Z"}],
    }
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(registry))
    report = export.verify_package(folder, trust=_store(path))
    assert [p.kind for p in report.problems] == ["untrusted"]
    assert "after its signing key" in report.problems[0].message


def test_trust_files_of_fingerprints_or_pem_keys(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate().public_key()
    fp = signing.fingerprint(key)
    lines = tmp_path / "known.txt"
    lines.write_text(f"# the bureau's keys\nsha256:{fp.upper()}  Bureau 2026\n")
    pem = tmp_path / "known.pem"
    pem.write_bytes(signing.public_pem(key) + signing.public_pem(key))
    for path in (lines, pem):
        found = _store(path).lookup(fp)
        assert found is not None
        assert found.source == str(path)
    bad = tmp_path / "bad.txt"
    bad.write_text("not-a-fingerprint\n")
    with pytest.raises(Exception, match="line 1: expected a SHA-256 fingerprint"):
        _store(bad)


def _store(path: Path) -> TrustStore:
    anchors = TrustStore()
    anchors.add_file(path)
    return anchors


def _installation(config: Config) -> TrustStore:
    anchors = TrustStore()
    anchors.add_installation(signing.keys_dir(config))
    return anchors
