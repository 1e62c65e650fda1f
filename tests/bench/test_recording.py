"""The recording benchmark checks its prerequisites before it starts anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import recording


def test_a_missing_ffmpeg_is_named_with_how_to_install_it_before_any_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "ffmpeg")
    monkeypatch.setattr(recording, "FFMPEG", missing)

    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a phase started without its prerequisites")

    monkeypatch.setattr(recording, "encode_source", never)
    monkeypatch.setattr(recording, "RtspServer", never)
    assert recording.main(["--streams", "1", "--phases", "vms,ffmpeg"]) == 2
    err = capsys.readouterr().err
    assert f"{missing} not found" in err
    assert "apt-get install -y --no-install-recommends ffmpeg" in err


def test_the_vms_phase_alone_does_not_need_ffmpeg(tmp_path: Path) -> None:
    assert recording.missing_prerequisites(["vms"], ffmpeg=str(tmp_path / "ffmpeg")) == []
    assert recording.missing_prerequisites(["ffmpeg"], ffmpeg=str(tmp_path / "ffmpeg"))
