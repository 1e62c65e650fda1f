"""Which :class:`~vms.storage.base.Storage` a process uses: the configured one (the node's
storage root, and the bucket when ``storage.object_store:`` is set), or a local-only one over
a folder. Kept apart from the base so the seam itself imports no implementation."""

from __future__ import annotations

import threading
from pathlib import Path

from vms.config import Config
from vms.storage.base import ObjectStore, Storage
from vms.storage.local import LocalStore


def as_storage(where: Storage | Path) -> Storage:
    """``where`` itself, or a local-only Storage over the folder ``where``."""
    if isinstance(where, Storage):
        return where
    return Storage(LocalStore(Path(where)))


_CACHE: dict[str, Storage] = {}
_CACHE_LOCK = threading.Lock()


def storage_for(config: Config) -> Storage:
    """The storage of ``config`` (one per process and configuration: boto3 clients are kept)."""
    store_cfg = config.storage.object_store
    cache_key = (
        f"{config.storage.root.resolve()}|{store_cfg.model_dump_json() if store_cfg else ''}"
    )
    with _CACHE_LOCK:
        found = _CACHE.get(cache_key)
        if found is not None:
            return found
        bucket: ObjectStore | None = None
        if store_cfg is not None:
            from vms.storage.s3 import S3Store  # boto3 loads only where a bucket is used

            bucket = S3Store(store_cfg)
        storage = Storage(LocalStore(config.storage.root), bucket)
        _CACHE[cache_key] = storage
        return storage
