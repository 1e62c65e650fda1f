"""Files in an S3 bucket, through boto3 (SeaweedFS, MinIO, Ceph RGW, cloud buckets).

An upload sends the SHA-256 computed when the file was written (``ChecksumSHA256``): the
store refuses the PUT when the bytes it received hash otherwise, and ``put`` then reads the
object's stored checksum and size back with a HEAD before it returns. Files over 4 GiB go up
in parts and are verified by reading them back. Where the bucket was created with object
lock, held objects carry an S3 legal hold (lifted before retention deletes one, which it does
only after the index's hold check passed); deletions remove every version.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from vms.config import ObjectStoreConfig
from vms.errors import FileIntegrityError, StorageError
from vms.storage.base import CHUNK
from vms.vocab import Subsystem

log = logging.getLogger(__name__)

SINGLE_PUT_MAX = 4 << 30
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Store:
    """An ObjectStore over ``cfg.bucket``; keys get ``cfg.prefix`` in front."""

    name = "bucket"

    def __init__(self, cfg: ObjectStoreConfig) -> None:
        self.cfg = cfg
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=cfg.endpoint,
            aws_access_key_id=cfg.access_key,
            aws_secret_access_key=cfg.secret_key,
            region_name=cfg.region,
            config=BotoConfig(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=cfg.timeout_s,
                read_timeout=cfg.timeout_s,
                # Checksums only where vms asks for them (SHA-256 on upload).
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        self._ready = False
        self._lock = threading.Lock()
        self.object_lock = False

    # -- set-up ------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(Bucket=self.cfg.bucket, **kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(kwargs.get("Key", what)) from exc
            raise StorageError(
                f"object store {self.cfg.endpoint} bucket {self.cfg.bucket}: {what}: {exc}",
                subsystem=Subsystem.STORAGE,
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(
                f"object store {self.cfg.endpoint} unreachable ({what}): {exc}",
                subsystem=Subsystem.STORAGE,
            ) from exc

    def ensure_ready(self) -> None:
        """Check (or create) the bucket once; learn whether it has object lock."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            try:
                self._call("head bucket", self.client.head_bucket)
            except FileNotFoundError:
                if not self.cfg.create_bucket:
                    raise StorageError(
                        f"bucket {self.cfg.bucket} does not exist at {self.cfg.endpoint} "
                        "(storage.object_store.create_bucket is off)",
                        subsystem=Subsystem.STORAGE,
                    ) from None
                self._call(
                    "create bucket",
                    self.client.create_bucket,
                    ObjectLockEnabledForBucket=self.cfg.object_lock,
                )
                log.info(
                    "created bucket %s (object lock %s)", self.cfg.bucket, self.cfg.object_lock
                )
            self.object_lock = self.cfg.object_lock and self._has_object_lock()
            self._ready = True

    def _has_object_lock(self) -> bool:
        try:
            got = self._call("object lock", self.client.get_object_lock_configuration)
        except (FileNotFoundError, StorageError):
            return False
        return bool(got.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled")

    def key(self, key: str) -> str:
        return self.cfg.prefix + key

    # -- the ObjectStore protocol --------------------------------------------------------

    def put(self, key: str, source: Path, sha256: str) -> None:
        self.ensure_ready()
        k = self.key(key)
        try:
            size = source.stat().st_size
            if size <= SINGLE_PUT_MAX:
                with source.open("rb") as body:
                    self._call(
                        f"upload {k}",
                        self.client.put_object,
                        Key=k,
                        Body=body,
                        ContentLength=size,
                        ChecksumSHA256=_b64(sha256),
                        Metadata={"sha256": sha256},
                        ContentType="video/mp4" if k.endswith(".mp4") else "binary/octet-stream",
                    )
            else:
                self.client.upload_file(
                    str(source),
                    self.cfg.bucket,
                    k,
                    ExtraArgs={"Metadata": {"sha256": sha256}},
                    Config=TransferConfig(multipart_chunksize=64 << 20),
                )
        except ClientError as exc:
            if _code(exc) in ("BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"):
                raise FileIntegrityError(
                    f"{source} does not hash to {sha256}: the store refused the upload",
                    subsystem=Subsystem.STORAGE,
                ) from exc
            raise StorageError(f"cannot upload {k}: {exc}", subsystem=Subsystem.STORAGE) from exc
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and _code(cause) in ("BadDigest", "InvalidDigest"):
                raise FileIntegrityError(
                    f"{source} does not hash to {sha256}: the store refused the upload",
                    subsystem=Subsystem.STORAGE,
                ) from exc
            raise
        except OSError as exc:
            raise StorageError(f"cannot read {source}: {exc}", subsystem=Subsystem.STORAGE) from exc
        self._check(k, size, sha256, read_back=size > SINGLE_PUT_MAX or self.cfg.verify_read_back)

    def _check(self, k: str, size: int, sha256: str, *, read_back: bool) -> None:
        head = self._call(f"check {k}", self.client.head_object, Key=k, ChecksumMode="ENABLED")
        stored = head.get("ChecksumSHA256")
        problems = []
        if int(head.get("ContentLength", -1)) != size:
            problems.append(f"{head.get('ContentLength')} bytes stored, {size} sent")
        if stored and "-" not in stored and stored != _b64(sha256):
            problems.append(f"stored checksum {stored} is not {_b64(sha256)}")
        if read_back and not problems:
            h = hashlib.sha256()
            for chunk in self.read(k[len(self.cfg.prefix) :]):
                h.update(chunk)
            if h.hexdigest() != sha256:
                problems.append(f"read back it hashes to {h.hexdigest()}")
        if problems:
            raise FileIntegrityError(
                f"uploaded object {k} does not match the file written: " + "; ".join(problems),
                subsystem=Subsystem.STORAGE,
            )

    def size(self, key: str) -> int | None:
        self.ensure_ready()
        try:
            head = self._call(f"stat {key}", self.client.head_object, Key=self.key(key))
        except FileNotFoundError:
            return None
        return int(head["ContentLength"])

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        self.ensure_ready()
        kwargs: dict[str, Any] = {"Key": self.key(key)}
        if start or end is not None:
            if end is not None and end <= start:
                return iter(())
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        got = self._call(f"read {key}", self.client.get_object, **kwargs)
        return _stream(got["Body"], key)

    def delete(self, key: str) -> None:
        self.ensure_ready()
        k = self.key(key)
        versions: list[str] = []
        if self.object_lock:  # a versioned bucket: a plain DELETE only hides the object
            listed = self._call(f"versions of {k}", self.client.list_object_versions, Prefix=k)
            versions = [
                v["VersionId"]
                for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])
                if v["Key"] == k and v.get("VersionId")
            ]
        if not versions:
            self._call(f"delete {k}", self.client.delete_object, Key=k)
            return
        for vid in versions:
            try:
                self._call(f"delete {k}", self.client.delete_object, Key=k, VersionId=vid)
            except FileNotFoundError:
                continue

    def set_hold(self, key: str, held: bool) -> bool:
        self.ensure_ready()
        if not self.object_lock:
            return False
        try:
            self._call(
                f"legal hold {key}",
                self.client.put_object_legal_hold,
                Key=self.key(key),
                LegalHold={"Status": "ON" if held else "OFF"},
            )
        except FileNotFoundError:
            return False
        return True

    def held(self, key: str) -> bool:
        """Whether the object carries an S3 legal hold now."""
        self.ensure_ready()
        if not self.object_lock:
            return False
        try:
            got = self._call(
                f"legal hold {key}", self.client.get_object_legal_hold, Key=self.key(key)
            )
        except (FileNotFoundError, StorageError):
            return False
        return bool(got.get("LegalHold", {}).get("Status") == "ON")


def _stream(body: Any, key: str) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    except (BotoCoreError, OSError) as exc:
        raise StorageError(f"reading {key} from the bucket failed: {exc}") from exc
    finally:
        body.close()
