"""The daily alert briefings (vms.ops.briefing): the list, one day's JSON and its files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from vms.errors import NotFoundError
from vms.ops.briefing import Briefing, briefing_root, is_day, list_briefings
from vms.vocab import Subsystem
from vms.web.deps import StateDep, served_file
from vms.web.roles import Permission
from vms.web.schemas import BriefingLink
from vms.web.scope import Scope, unscoped

router = APIRouter(prefix="/api/briefings", tags=["briefings"])
# The briefing counts every camera's alerts: not for a user limited to some cameras.
Reader = Annotated[Scope, Depends(unscoped(Permission.BRIEFINGS, "the daily briefing"))]
_FILES = {"index.html", "briefing.json", "alerts_by_type.png", "heatmap.png", "trend.png"}


@router.get("")
def briefings(state: StateDep, user: Reader) -> list[BriefingLink]:
    """Every written briefing, newest first, with where to read it."""
    return [
        BriefingLink(
            date=d, json_url=f"/api/briefings/{d}", html=f"/api/briefings/{d}/files/index.html"
        )
        for d in list_briefings(briefing_root(state.config))
    ]


def _folder_of(state: StateDep, day: str) -> Path:
    folder = briefing_root(state.config) / day
    if not is_day(day) or not (folder / "briefing.json").is_file():
        raise NotFoundError(f"no briefing for {day!r}", subsystem=Subsystem.WEB)
    return folder


@router.get("/{day}")
def briefing(state: StateDep, user: Reader, day: str) -> Briefing:
    """One day's briefing as JSON."""
    return Briefing.model_validate_json((_folder_of(state, day) / "briefing.json").read_bytes())


@router.get(
    "/{day}/files/{name}",
    **served_file("The page or a chart.", "text/html", "image/png"),
)
def briefing_file(state: StateDep, user: Reader, day: str, name: str) -> FileResponse:
    """The briefing's HTML page (index.html, its charts load beside it) or a chart."""
    if name not in _FILES:
        raise NotFoundError(f"no file {name!r} in a briefing", subsystem=Subsystem.WEB)
    path = _folder_of(state, day) / name
    if not path.is_file():
        raise NotFoundError(f"no file {name!r} in the briefing of {day}", subsystem=Subsystem.WEB)
    return FileResponse(path)
