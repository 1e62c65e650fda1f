"""The custody areas as configured: sites, their rooms of the seven types, each room's cameras.

Rooms come from the custody cameras (``site``, ``room``, ``room_type``) and from the optional
``custody.sites`` section (rooms without cameras, or to give a room a short id)::

    layout = build_layout(config)
    layout.room("cell-1").cameras      # ('cell-1-cam',)
    layout.room_of_camera("cell-1-cam").type is RoomType.CELL
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from vms.config import Config
from vms.errors import ConfigError, InvalidError, NotFoundError
from vms.vocab import CameraKind, RoomType, Subsystem


@dataclass(frozen=True)
class Room:
    """One room of a custody area and the cameras that cover it."""

    id: str
    site: str
    name: str
    type: RoomType
    cameras: tuple[str, ...] = ()
    main_camera: str | None = None
    inset_camera: str | None = None
    microphone_camera: str | None = None

    @property
    def main(self) -> str | None:
        """The camera a court copy shows full frame (configured, else the first)."""
        return self.main_camera or (self.cameras[0] if self.cameras else None)

    @property
    def inset(self) -> str | None:
        """The camera a court copy shows inset (configured, else the next one, if any)."""
        if self.inset_camera:
            return self.inset_camera
        return next((c for c in self.cameras if c != self.main), None)

    @property
    def microphone(self) -> str | None:
        """The camera whose sound a court copy carries (configured, else the main one)."""
        return self.microphone_camera or self.main


@dataclass(frozen=True)
class Layout:
    """Every custody room by id."""

    rooms: dict[str, Room] = field(default_factory=dict)

    @property
    def sites(self) -> list[str]:
        return sorted({r.site for r in self.rooms.values()})

    def room(self, ref: str) -> Room:
        """A room by id, or by name when the name is unique."""
        if ref in self.rooms:
            return self.rooms[ref]
        named = [r for r in self.rooms.values() if r.name.casefold() == ref.casefold()]
        if len(named) == 1:
            return named[0]
        known = ", ".join(sorted(self.rooms)) or "none"
        if named:
            raise InvalidError(
                f"room name {ref!r} is used in several sites; use its id ({known})",
                subsystem=Subsystem.CUSTODY,
            )
        raise NotFoundError(
            f"no custody room {ref!r} (known: {known})", subsystem=Subsystem.CUSTODY
        )

    def room_of_camera(self, camera_id: str) -> Room | None:
        for room in self.rooms.values():
            if camera_id in room.cameras:
                return room
        return None


def slug(name: str) -> str:
    """'Interrogation room 1' -> 'interrogation-room-1'."""
    text = re.sub(r"[^a-z0-9_]+", "-", name.casefold()).strip("-_")
    return text[:63] or "room"


def build_layout(config: Config) -> Layout:
    """Merge the custody cameras' rooms with ``custody.sites``; raise ConfigError on conflicts."""
    problems: list[str] = []
    rooms: dict[tuple[str, str], Room] = {}
    for site in config.custody.sites:
        for rc in site.rooms:
            key = (site.name.casefold(), rc.name.casefold())
            rooms[key] = Room(
                rc.id or slug(rc.name),
                site.name,
                rc.name,
                RoomType(rc.type),
                main_camera=rc.main_camera,
                inset_camera=rc.inset_camera,
                microphone_camera=rc.microphone_camera,
            )
    for c_index, cam in enumerate(config.cameras):
        if cam.kind is not CameraKind.CUSTODY or cam.room is None or cam.room_type is None:
            continue
        key = (cam.site.casefold(), cam.room.casefold())
        room = rooms.get(key) or Room(slug(cam.room), cam.site, cam.room, cam.room_type)
        if room.type is not cam.room_type:
            problems.append(
                f"cameras[{c_index}].room_type: room {cam.room!r} of site {cam.site!r} is "
                f"{room.type.value!r} elsewhere in the configuration, got {cam.room_type.value!r}"
            )
            continue
        rooms[key] = replace(room, cameras=(*room.cameras, cam.id))
    problems += _court_views(config, rooms)
    by_id: dict[str, Room] = {}
    for room in rooms.values():
        other = by_id.get(room.id)
        if other is not None:
            problems.append(
                f"custody.sites: rooms {other.name!r} ({other.site}) and {room.name!r} "
                f"({room.site}) would both have the id {room.id!r}; list them under "
                "custody.sites with distinct ids"
            )
            continue
        by_id[room.id] = room
    if problems:
        raise ConfigError(f"custody layout: {len(problems)} problem(s)", problems)
    return Layout(dict(sorted(by_id.items())))


def _court_views(config: Config, rooms: dict[tuple[str, str], Room]) -> list[str]:
    """Each room's configured main, inset and microphone cameras must be cameras of it."""
    problems = []
    for s_index, site in enumerate(config.custody.sites):
        for r_index, rc in enumerate(site.rooms):
            room = rooms[(site.name.casefold(), rc.name.casefold())]
            views = {
                "main_camera": rc.main_camera,
                "inset_camera": rc.inset_camera,
                "microphone_camera": rc.microphone_camera,
            }
            for name, cam in views.items():
                if cam is not None and cam not in room.cameras:
                    problems.append(
                        f"custody.sites[{s_index}].rooms[{r_index}].{name}: {cam!r} is not a "
                        f"camera of {room.name!r} (its cameras: "
                        f"{', '.join(room.cameras) or 'none'})"
                    )
            if rc.inset_camera is not None and rc.inset_camera == room.main:
                problems.append(
                    f"custody.sites[{s_index}].rooms[{r_index}].inset_camera: "
                    f"{rc.inset_camera!r} is also the main camera"
                )
    return problems
