"""The ``evidence:`` section of the configuration: retention, disk high-water mark, signing."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from vms.vocab import ConfigModel


class RetentionDaysConfig(ConfigModel):
    """Days to keep footage, per camera kind; a camera's own ``retention_days`` wins."""

    street: int = Field(30, ge=1, description="Street cameras: days to keep footage.")
    custody: int = Field(90, ge=1, description="Custody-area cameras: days to keep footage.")


class EvidenceConfig(ConfigModel):
    """Cases, legal holds, retention and signed exports."""

    high_water_percent: float = Field(
        90.0,
        gt=0,
        le=100,
        description=(
            "Disk high-water mark: above this share of the disk (or of quota_bytes) retention "
            "deletes the oldest unheld segments until usage is back under it."
        ),
    )
    quota_bytes: int | None = Field(
        None,
        ge=1,
        description=(
            "Treat the storage as this many bytes (footage plus evidence files, as indexed) "
            "instead of measuring the disk. For small installations and tests."
        ),
    )
    retention_days: RetentionDaysConfig = Field(
        default_factory=RetentionDaysConfig,
        description="Days to keep footage per camera kind (cameras[].retention_days wins).",
    )
    retention_interval_s: float = Field(
        300.0, ge=10, description="How often the retention job runs in `vms serve`, seconds."
    )
    export_retention_days: int = Field(
        30,
        ge=1,
        description=(
            "Export packages kept for download (<storage.root>/exports) are deleted this many "
            "days after they were made, never while their case is open or a hold names it."
        ),
    )
    exports_quota_bytes: int | None = Field(
        None,
        ge=1,
        description=(
            "At most this many bytes of export packages under <storage.root>/exports "
            "(default: no cap of their own; they always count against the disk)."
        ),
    )
    anchor_interval_s: float = Field(
        300.0,
        ge=10,
        description=(
            "How often `vms serve` writes a signed checkpoint of the audit chain head to "
            "<storage.root>/audit/anchors.jsonl (only when the head moved), seconds."
        ),
    )
    keys_dir: Path | None = Field(
        None,
        description=(
            "Folder of the export signing key pair (made on first export). Default: "
            "<storage.root>/keys. The private key can be encrypted with a passphrase taken "
            "from $VMS_SIGNING_KEY_PASSPHRASE."
        ),
    )
