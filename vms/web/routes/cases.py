"""Cases: list, open, detail with evidence items, add a clip, export and download a package.

The work is done by vms.evidence (audited there); this router checks roles, scope and
reasons, and turns an export folder into one zip to download.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from vms.errors import NotFoundError, ReasonRequiredError
from vms.evidence.audit import Actor
from vms.evidence.cases import CaseView, case_slug, create_case, list_cases, show_case
from vms.evidence.export import export_case
from vms.evidence.items import ItemView, add_clip, list_items
from vms.evidence.models import Case
from vms.vocab import CameraKind, Subsystem
from vms.web.deps import StateDep, WebState, content, require
from vms.web.roles import Permission
from vms.web.routes.recordings import check_reason
from vms.web.schemas import CaseDetailOut, CaseIn, CaseOut, ClipIn, ExportIn, ExportOut, ItemOut
from vms.web.users import Principal

router = APIRouter(prefix="/api/cases", tags=["cases"])
Investigator = Annotated[Principal, Depends(require(Permission.CASES))]
Exporter = Annotated[Principal, Depends(require(Permission.EXPORT))]
_EXPORT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,120}\.zip$")


def _number(state: WebState, case_id: int) -> str:
    with state.db.session() as s:
        row = s.get(Case, case_id)
        if row is None:
            raise NotFoundError(f"no case {case_id}", subsystem=Subsystem.WEB)
        return row.number


def _exports_dir(state: WebState, number: str) -> Path:
    return state.config.storage.root / "exports" / case_slug(number)


def _case_out(view: CaseView) -> CaseOut:
    return CaseOut(**{k: v for k, v in vars(view).items() if k != "investigators"},
                   investigators=list(view.investigators))  # fmt: skip


def _item_out(item: ItemView) -> ItemOut:
    return ItemOut.model_validate(item)


@router.get("")
def cases(state: StateDep, user: Investigator) -> list[CaseOut]:
    return [_case_out(c) for c in list_cases(state.db)]


@router.post("", status_code=status.HTTP_201_CREATED)
def open_case(body: CaseIn, state: StateDep, user: Investigator) -> CaseOut:
    actor = Actor(user.username, "case opened")
    view = create_case(
        state.db, state.clock, actor, body.number, body.title, investigators=body.investigators
    )
    return _case_out(view)


@router.get("/{case_id}")
def case_detail(case_id: int, state: StateDep, user: Investigator) -> CaseDetailOut:
    """The case with its evidence items (audited as a view of the case)."""
    number = _number(state, case_id)
    view = show_case(
        state.db, state.clock, Actor(user.username, "case opened in the web app"), number
    )
    items = [_item_out(i) for i in list_items(state.db, number) if user.sees(i.camera_id)]
    folder = _exports_dir(state, number)
    exports = sorted(p.name for p in folder.glob("*.zip")) if folder.is_dir() else []
    return CaseDetailOut(**_case_out(view).model_dump(), items=items, exports=exports)


@router.post("/{case_id}/clips", status_code=status.HTTP_201_CREATED)
async def add_case_clip(case_id: int, body: ClipIn, state: StateDep, user: Investigator) -> ItemOut:
    """Cut a clip of a camera's recording (remuxed, held) into the case."""
    cam = state.camera(body.camera_id, user)
    reason = check_reason(cam, body.reason, "add to a case") or "clip added from playback"
    number = _number(state, case_id)
    item = await run_in_threadpool(
        add_clip,
        state.db,
        state.config,
        state.clock,
        Actor(user.username, reason),
        number,
        body.camera_id,
        body.start,
        body.end,
        note=body.note,
    )
    return _item_out(item)


@router.post("/{case_id}/exports", status_code=status.HTTP_201_CREATED)
async def export(
    case_id: int, state: StateDep, user: Exporter, body: ExportIn | None = None
) -> ExportOut:
    """Write the signed export package of the case and make it one zip to download."""
    number = _number(state, case_id)
    items = list_items(state.db, number)
    for item in items:
        user.check_camera(item.camera_id)
    custody = [i.camera_id for i in items if _is_custody(state, i.camera_id)]
    reason = ((body.reason if body else None) or "").strip()
    if custody and not reason:
        raise ReasonRequiredError(
            f"case {number} holds custody-room footage ({', '.join(sorted(set(custody)))}): "
            "give a reason to export it; it is written to the audit log",
            subsystem=Subsystem.WEB,
        )
    actor = Actor(user.username, reason or "export from the web app")
    stamp = state.clock.now().strftime("%Y%m%dT%H%M%S%fZ")
    folder = _exports_dir(state, number)
    package = folder / f"{case_slug(number)}-{stamp}"
    result = await run_in_threadpool(
        export_case, state.db, state.config, state.clock, actor, number, package
    )
    archive = await run_in_threadpool(
        shutil.make_archive, str(package), "zip", root_dir=folder, base_dir=package.name
    )
    name = Path(archive).name
    return ExportOut(
        name=name,
        url=f"/api/cases/{case_id}/exports/{name}",
        manifest_sha256=result.manifest_sha256,
        key_fingerprint=result.key_fingerprint,
        files=result.files,
        bytes=Path(archive).stat().st_size,
    )


@router.get(
    "/{case_id}/exports/{name}",
    response_class=FileResponse,
    responses=content("The signed export package.", "application/zip"),
)
def export_download(case_id: int, name: str, state: StateDep, user: Exporter) -> FileResponse:
    """A package made by POST .../exports (its making is the audited export)."""
    number = _number(state, case_id)
    if not _EXPORT_NAME.match(name):
        raise NotFoundError(f"no export {name!r} of case {number}", subsystem=Subsystem.WEB)
    path = _exports_dir(state, number) / name
    if not path.is_file():
        raise NotFoundError(f"no export {name!r} of case {number}", subsystem=Subsystem.WEB)
    return FileResponse(path, media_type="application/zip", filename=name)


def _is_custody(state: WebState, camera_id: str) -> bool:
    cam = state.cameras.get(camera_id)
    return cam is not None and cam.kind is CameraKind.CUSTODY
