"""Cases: list, open, detail with evidence items, add a clip, export and download a package.

The work is done by vms.evidence (audited there); this router checks roles, scope and
reasons, and turns an export folder into one zip to download.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from vms.errors import NotFoundError, ReasonRequiredError, StorageError, VmsError
from vms.evidence.audit import Actor
from vms.evidence.cases import CaseView, case_slug, create_case, list_cases, show_case
from vms.evidence.export import export_case, package_bytes
from vms.evidence.exports import check_room, zip_package
from vms.evidence.items import ItemView, add_clip, list_items
from vms.evidence.package import MANIFEST, open_package
from vms.vocab import CameraKind, Subsystem
from vms.web.audit import record
from vms.web.deps import SessionDep, StateDep, WebState, served_file
from vms.web.roles import Permission
from vms.web.routes.recordings import Reason, check_reason
from vms.web.schemas import CaseDetailOut, CaseIn, CaseOut, ClipIn, ExportIn, ExportOut, ItemOut
from vms.web.scope import CaseAccess, Scope, scoped
from vms.web.users import check_investigators

router = APIRouter(prefix="/api/cases", tags=["cases"])
Investigator = Annotated[Scope, Depends(scoped(Permission.CASES))]
Exporter = Annotated[Scope, Depends(scoped(Permission.EXPORT))]
_EXPORT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,120}\.zip$")


def _number(state: WebState, scope: Scope, case_id: int, access: CaseAccess) -> str:
    """The case's number, if the user is its owner or a named investigator (``access``)."""
    with state.db.session() as s:
        return scope.case(s, case_id, access).number


def _exports_dir(state: WebState, number: str) -> Path:
    return state.config.storage.root / "exports" / case_slug(number)


def _case_out(view: CaseView) -> CaseOut:
    return CaseOut(**{k: v for k, v in vars(view).items() if k != "investigators"},
                   investigators=list(view.investigators))  # fmt: skip


def _item_out(item: ItemView) -> ItemOut:
    return ItemOut.model_validate(item)


@router.get("")
def cases(state: StateDep, s: SessionDep, scope: Investigator) -> list[CaseOut]:
    """The cases the user owns or is named an investigator of."""
    mine = scope.member_case_ids(s)
    return [_case_out(c) for c in list_cases(state.db) if c.id in mine]


@router.post("", status_code=status.HTTP_201_CREATED)
def open_case(body: CaseIn, state: StateDep, s: SessionDep, scope: Investigator) -> CaseOut:
    """Open a case: the user is its owner; the investigators named must be existing,
    active investigators (they may open it and add to it; only they and the owner)."""
    user = scope.user
    investigators = [n for n in check_investigators(s, body.investigators) if n != user.username]
    actor = Actor(user.username, "case opened")
    view = create_case(
        state.db, state.clock, actor, body.number, body.title, investigators=investigators
    )
    return _case_out(view)


@router.get("/{case_id}")
def case_detail(case_id: int, state: StateDep, scope: Investigator) -> CaseDetailOut:
    """The case with its evidence items of cameras in the user's scope (audited as a view of
    the case); for its owner and named investigators."""
    number = _number(state, scope, case_id, CaseAccess.READ)
    actor = Actor(scope.user.username, "case opened in the web app")
    view = show_case(state.db, state.clock, actor, number)
    items = [_item_out(i) for i in list_items(state.db, number) if scope.rule.camera(i.camera_id)]
    folder = _exports_dir(state, number)
    exports = sorted(p.name for p in folder.glob("*.zip")) if folder.is_dir() else []
    return CaseDetailOut(**_case_out(view).model_dump(), items=items, exports=exports)


@router.post("/{case_id}/clips", status_code=status.HTTP_201_CREATED)
async def add_case_clip(
    case_id: int, body: ClipIn, state: StateDep, scope: Investigator
) -> ItemOut:
    """Cut a clip of a camera's recording (remuxed, held) into the case (its owner and named
    investigators; the camera in the user's scope)."""
    cam = scope.camera(body.camera_id)
    reason = check_reason(cam, body.reason, "add to a case") or "clip added from playback"
    number = await run_in_threadpool(_number, state, scope, case_id, CaseAccess.ADD)
    item = await run_in_threadpool(
        add_clip,
        state.db,
        state.config,
        state.clock,
        Actor(scope.user.username, reason),
        number,
        body.camera_id,
        body.start,
        body.end,
        note=body.note,
    )
    return _item_out(item)


@router.post("/{case_id}/exports", status_code=status.HTTP_201_CREATED)
async def export(
    case_id: int, state: StateDep, scope: Exporter, body: ExportIn | None = None
) -> ExportOut:
    """Write the signed export package of the case and make it one zip to download (its owner
    and named investigators; every item's camera in the user's scope)."""
    user = scope.user
    number = await run_in_threadpool(_number, state, scope, case_id, CaseAccess.EXPORT)
    items = list_items(state.db, number)
    custody = [i.camera_id for i in items if _is_custody(state, i.camera_id)]
    reason = ((body.reason if body else None) or "").strip()
    if custody and not reason:
        raise ReasonRequiredError(
            f"case {number} holds custody-room footage ({', '.join(sorted(set(custody)))}): "
            "give a reason to export it; it is written to the audit log",
            subsystem=Subsystem.WEB,
        )
    actor = Actor(user.username, reason or "export from the web app")
    # At its peak the package is there twice (its folder and its zip): room for both, or 507.
    check_room(state.db, state.config, 2 * package_bytes(items), f"exporting case {number}")
    stamp = state.clock.now().strftime("%Y%m%dT%H%M%S%fZ")
    folder = _exports_dir(state, number)
    package = folder / f"{case_slug(number)}-{stamp}"
    result = await run_in_threadpool(
        export_case, state.db, state.config, state.clock, actor, number, package
    )
    try:
        archive = await run_in_threadpool(zip_package, package)
    finally:
        await run_in_threadpool(shutil.rmtree, package, True)  # one package kept: the zip
    name = archive.name
    return ExportOut(
        name=name,
        url=f"/api/cases/{case_id}/exports/{name}",
        manifest_sha256=result.manifest_sha256,
        key_fingerprint=result.key_fingerprint,
        files=result.files,
        bytes=archive.stat().st_size,
    )


@router.get(
    "/{case_id}/exports/{name}",
    **served_file("The signed export package.", "application/zip"),
)
def export_download(
    case_id: int, name: str, state: StateDep, s: SessionDep, scope: Exporter, reason: Reason = None
) -> FileResponse:
    """A package made by POST .../exports, for the case's owner and named investigators whose
    scope holds every camera in it; each download is audited as an export, with a reason when
    the package holds custody-room footage (428 without one)."""
    user = scope.user
    number = scope.case(s, case_id, CaseAccess.READ).number
    if not _EXPORT_NAME.match(name):
        raise NotFoundError(f"no export {name!r} of case {number}", subsystem=Subsystem.WEB)
    path = _exports_dir(state, number) / name
    if not path.is_file():
        raise NotFoundError(f"no export {name!r} of case {number}", subsystem=Subsystem.WEB)
    manifest = _manifest_of(path)
    cameras = {str(c.get("id")): str(c.get("kind")) for c in manifest.get("cameras", [])}
    scope.check_cameras(cameras, f"export {name}")
    custody = sorted(c for c, kind in cameras.items() if kind == CameraKind.CUSTODY.value)
    why = (reason or "").strip()
    if custody and not why:
        raise ReasonRequiredError(
            f"export {name} of case {number} holds custody-room footage ({', '.join(custody)}): "
            "give a reason to download it; it is written to the audit log",
            subsystem=Subsystem.WEB,
        )
    record(
        s,
        state.clock,
        user,
        "export",
        "case",
        case_id,
        reason=why or "download of an export package",
        details={
            "what": "download",
            "package": name,
            "manifest_sha256": manifest.get("_sha256"),
            "bytes": path.stat().st_size,
        },
        case_number=number,
    )
    return FileResponse(path, media_type="application/zip", filename=name)


def _manifest_of(path: Path) -> dict[str, Any]:
    """The manifest inside an export zip, with its SHA-256 as ``_sha256``."""
    try:
        with open_package(path) as package:
            data = package.read(MANIFEST, 64 << 20)
        manifest: dict[str, Any] = json.loads(data or b"{}")
    except (VmsError, ValueError) as exc:
        raise StorageError(f"export {path.name} is unreadable: {exc}") from exc
    manifest["_sha256"] = hashlib.sha256(data or b"").hexdigest()
    return manifest


def _is_custody(state: WebState, camera_id: str) -> bool:
    cam = state.cameras.get(camera_id)
    return cam is not None and cam.kind is CameraKind.CUSTODY
