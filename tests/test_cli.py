"""The command line: check-config, db upgrade, recordings list, verify."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vms.db.migrate import head_revision

VMS = [sys.executable, "-m", "vms.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VMS, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def test_check_config_ok(tmp_path: Path) -> None:
    cfg = tmp_path / "ok.yaml"
    cfg.write_text("cameras:\n  - {id: a, kind: street, site: s, source: synthetic://a}\n")
    res = run("check-config", str(cfg))
    assert res.returncode == 0, res.stderr
    assert "OK (1 camera(s))" in res.stdout


def test_check_config_prints_every_error_with_its_path(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(
        "cameras:\n"
        "  - {id: a, kind: street, site: s, source: synthetic://a}\n"
        "  - {id: b, kind: street, site: s, source: synthetic://b}\n"
        "  - {id: c, kind: custody, site: s, source: 7, room: R, room_type: attic}\n"
    )
    res = run("check-config", str(cfg))
    assert res.returncode == 2
    assert "cameras[2].source (line 4)" in res.stderr
    assert "cameras[2].room_type (line 4)" in res.stderr
    assert "Traceback" not in res.stderr


def test_check_config_missing_file(tmp_path: Path) -> None:
    res = run("check-config", str(tmp_path / "none.yaml"))
    assert res.returncode == 2
    assert "cannot read the configuration file" in res.stderr


def test_db_upgrade_and_empty_listing(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"storage: {{root: {tmp_path / 'store'}}}\n"
        "cameras:\n  - {id: a, kind: street, site: s, source: synthetic://a}\n"
    )
    res = run("db", "upgrade", "--config", str(cfg))
    assert res.returncode == 0, res.stderr
    assert f"database at revision {head_revision()}" in res.stdout
    res = run("recordings", "list", "--config", str(cfg), "--camera", "a", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == []
    res = run("recordings", "list", "--config", str(cfg), "--camera", "nope")
    assert res.returncode == 2
    assert "no camera 'nope'" in res.stderr
    res = run("recordings", "list", "--config", str(cfg), "--from", "yesterday")
    assert res.returncode == 2
    assert "ISO 8601" in res.stderr


@pytest.mark.slow
def test_demo_records_lists_and_verifies(tmp_path: Path) -> None:
    """`vms demo` records both synthetic cameras; list and verify see clean segments."""
    res = run("demo", "--duration", "6", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    listing = run("recordings", "list", "--json", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)
    segments = [r for r in rows if r["kind"] == "segment"]
    assert {r["camera"] for r in segments} == {"street-1", "interrogation-1"}
    for seg in segments:
        assert seg["status"] == "complete"
        assert len(seg["sha256"]) == 64
        assert seg["codec"] == "h264"
        assert (seg["width"], seg["height"]) == (640, 360)
        assert seg["duration_s"] > 0  # how much is recorded depends on the machine's load
        assert seg["end"] > seg["start"]
        assert (tmp_path / "data" / seg["path"]).is_file()
        # The interrogation room records sound (the synthetic camera's tone, AAC); the street
        # camera sends none.
        kinds = [(s["kind"], s["codec"]) for s in seg["streams"]]
        if seg["camera"] == "interrogation-1":
            assert kinds == [("video", "h264"), ("audio", "aac")], seg
        else:
            assert kinds == [("video", "h264")], seg
    gaps = [r for r in rows if r["kind"] == "gap"]
    assert all(g["reason"].startswith("recorder stopped") for g in gaps)
    assert not [g for g in gaps if g.get("gap_kind") == "audio"]  # the tone never stopped
    ok = run("verify", "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["counts"]["ok"] == len(segments)
    # Alter one byte of one recording: verify names it and fails.
    victim = tmp_path / "data" / segments[0]["path"]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    bad = run("verify", "--json", cwd=tmp_path)
    assert bad.returncode == 1
    problems = json.loads(bad.stdout)["problems"]
    assert [(p["path"], p["status"]) for p in problems] == [(segments[0]["path"], "mismatch")]


def test_a_config_error_prints_the_camera_id_pattern_as_it_is(tmp_path: Path) -> None:
    """Rich markup must not eat the character classes of the pattern ("[a-z0-9]")."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("cameras:\n  - {id: Bad Id, kind: street, site: s, source: synthetic://a}\n")
    res = run("check-config", str(cfg))
    assert res.returncode == 2
    assert "cameras[0].id (line 2)" in res.stderr
    assert "'^[a-z0-9][a-z0-9_-]{0,62}$'" in res.stderr
