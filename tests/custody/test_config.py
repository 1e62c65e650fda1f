"""The custody configuration and the layout of rooms derived from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.custody.conftest import custody_config
from vms.config import Config, parse_config
from vms.custody.config import CustodyConfig, RiskLevel
from vms.custody.layout import build_layout, slug
from vms.errors import ConfigError, InvalidError


def test_defaults_are_the_documented_numbers() -> None:
    cfg = Config().custody
    limits = {k: b.limit_h for k, b in cfg.legal_bases.items()}
    assert limits == {
        "summons": 12,
        "summons_serious": 24,
        "admin_questioning": 8,
        "admin_questioning_detention": 24,
        "continued_questioning": 24,
        "continued_questioning_extended": 48,
        "custom": None,
    }
    assert all(b.source for k, b in cfg.legal_bases.items() if k != "custom")
    assert cfg.legal_clock.warn_before_min == [60, 15]
    assert cfg.legal_clock.resummons_min_interval_h == 12
    assert [cfg.observation.interval_min(r) for r in RiskLevel] == [60, 30, 15]
    assert (cfg.two_officer.min_officers, cfg.two_officer.for_s) == (2, 60)
    assert cfg.person_alone.room_types == ["holding", "cell"]
    assert (cfg.escalation.after_min, len(cfg.escalation.levels)) == (5, 3)


def test_legal_bases_given_add_to_the_defaults() -> None:
    cfg = CustodyConfig.model_validate(
        {
            "legal_bases": {
                "summons": {"title": "Summons (local)", "limit_h": 10},
                "x": {"title": "X", "limit_h": 2},
            }
        }
    )
    assert cfg.legal_bases["summons"].limit_h == 10
    assert cfg.legal_bases["x"].limit_h == 2
    assert cfg.legal_bases["summons_serious"].limit_h == 24


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "custody:\n  two_officer:\n    for_seconds: 5\n",
            "custody.two_officer.for_seconds (line 3)",
        ),
        (
            "custody:\n  legal_clock:\n    warn_before_min: [60, -5]\n",
            "lead times must be positive",
        ),
        (
            "custody:\n  sites:\n    - name: S\n      rooms:\n        - {name: A, type: attic}\n",
            "custody.sites[0].rooms[0].type (line 5)",
        ),
        (
            "custody:\n  sites:\n    - name: S\n      rooms:\n        - {name: A, type: cell}\n"
            "        - {name: a, type: cell}\n",
            "listed twice",
        ),
    ],
)
def test_errors_name_their_yaml_path(yaml_text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml_text)
    assert expected in str(info.value)


def test_layout_merges_cameras_and_configured_rooms(tmp_path: Path) -> None:
    layout = build_layout(custody_config(tmp_path))
    got = {r.id: (r.site, r.name, r.type.value, r.cameras) for r in layout.rooms.values()}
    assert got == {
        "cell-1": ("Station 1", "Cell 1", "cell", ("cell-cam",)),
        "holding-1": ("Station 1", "Holding 1", "holding", ("holding-cam",)),
        "inquiry-1": ("Station 1", "Inquiry 1", "inquiry", ()),
        "int-1": ("Station 1", "Interrogation 1", "interrogation", ("interrogation-cam",)),
    }
    assert layout.room("Interrogation 1").id == "int-1"
    assert layout.room_of_camera("cell-cam") == layout.rooms["cell-1"]
    assert layout.sites == ["Station 1"]
    assert slug("Interrogation room 1") == "interrogation-room-1"


def _cam(cam_id: str, site: str, room: str, rtype: str) -> dict[str, Any]:
    return {
        "id": cam_id,
        "kind": "custody",
        "site": site,
        "room": room,
        "room_type": rtype,
        "source": f"synthetic://{cam_id}",
    }


@pytest.mark.parametrize(
    ("cameras", "sites", "message"),
    [
        (
            [_cam("a", "S", "Cell 1", "cell"), _cam("b", "S", "Cell 1", "holding")],
            [],
            "cameras[1].room_type: room 'Cell 1' of site 'S' is 'cell'",
        ),
        (
            [_cam("a", "S1", "Cell 1", "cell"), _cam("b", "S2", "Cell 1", "cell")],
            [],
            "would both have the id 'cell-1'",
        ),
        (
            [_cam("a", "S", "Cell 1", "cell")],
            [{"name": "S", "rooms": [{"name": "Cell 1", "type": "holding"}]}],
            "is 'holding' elsewhere",
        ),
    ],
)
def test_layout_conflicts_are_config_errors(
    cameras: list[dict[str, Any]], sites: list[dict[str, Any]], message: str
) -> None:
    config = Config.model_validate({"cameras": cameras, "custody": {"sites": sites}})
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_layout(config)


def test_court_copy_views_default_and_are_checked() -> None:
    cams = [
        _cam("wide", "S", "Int 1", "interrogation"),
        _cam("front", "S", "Int 1", "interrogation"),
    ]
    room = build_layout(Config.model_validate({"cameras": cams})).rooms["int-1"]
    assert (room.main, room.inset, room.microphone) == ("wide", "front", "wide")
    sites = [
        {
            "name": "S",
            "rooms": [
                {
                    "name": "Int 1",
                    "type": "interrogation",
                    "main_camera": "front",
                    "microphone_camera": "front",
                }
            ],
        }
    ]
    room = build_layout(
        Config.model_validate({"cameras": cams, "custody": {"sites": sites}})
    ).rooms["int-1"]
    assert (room.main, room.inset, room.microphone) == ("front", "wide", "front")
    sites[0]["rooms"][0]["inset_camera"] = "hall-cam"  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        build_layout(Config.model_validate({"cameras": cams, "custody": {"sites": sites}}))
    assert "custody.sites[0].rooms[0].inset_camera: 'hall-cam' is not a camera of 'Int 1'" in str(
        info.value.problems
    )


def test_same_room_name_in_two_sites_with_ids(tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "cameras": [_cam("a", "S1", "Cell 1", "cell"), _cam("b", "S2", "Cell 1", "cell")],
            "custody": {
                "sites": [
                    {
                        "name": "S1",
                        "rooms": [{"name": "Cell 1", "type": "cell", "id": "s1-cell-1"}],
                    },
                    {
                        "name": "S2",
                        "rooms": [{"name": "Cell 1", "type": "cell", "id": "s2-cell-1"}],
                    },
                ]
            },
        }
    )
    layout = build_layout(config)
    assert layout.rooms["s2-cell-1"].cameras == ("b",)
    with pytest.raises(InvalidError, match="used in several sites"):
        layout.room("Cell 1")
