"""``storage.object_store:``: the S3 bucket finished files move to."""

from __future__ import annotations

from pydantic import Field

from vms.vocab import ConfigModel


class ObjectStoreConfig(ConfigModel):
    """An S3-compatible bucket (MinIO, Ceph RGW, SeaweedFS, a cloud bucket)."""

    endpoint: str = Field(
        pattern=r"^https?://",
        description="S3 endpoint URL, e.g. https://minio.police.local:9000.",
    )
    bucket: str = Field(
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="Bucket name (S3 rules)."
    )
    region: str = Field("us-east-1", description="Region name the store expects.")
    access_key: str = Field(
        description="Access key id; write ${VMS_S3_ACCESS_KEY}: it comes from the environment."
    )
    secret_key: str = Field(
        description="Secret key; write ${VMS_S3_SECRET_KEY}: it comes from the environment."
    )
    prefix: str = Field(
        "", pattern=r"^([A-Za-z0-9._-]+/)*$", description="Key prefix inside the bucket (a/b/)."
    )
    create_bucket: bool = Field(
        True, description="Create the bucket (with object lock) at start-up if it is missing."
    )
    object_lock: bool = Field(
        True,
        description=(
            "Put an S3 legal hold on held objects when the bucket has object lock enabled "
            "(the index's hold check applies always)."
        ),
    )
    upload_after_s: float = Field(
        0.0, ge=0, description="A finished file moves to the bucket once it is this old."
    )
    interval_s: float = Field(10.0, gt=0, description="How often the tiering job runs.")
    batch: int = Field(200, ge=1, le=10000, description="Files moved per run at most.")
    verify_read_back: bool = Field(
        False,
        description=(
            "Also read each uploaded object back and hash it before the local copy is "
            "deleted (the store already checks the SHA-256 sent with the upload)."
        ),
    )
    timeout_s: float = Field(30.0, gt=0, description="Connect and read timeout per request.")
