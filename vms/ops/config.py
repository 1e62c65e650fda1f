"""The ``ops:`` section of the configuration: scheduled jobs, the daily briefing, logs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from vms.vocab import ConfigModel


class OpsConfig(ConfigModel):
    """Scheduled jobs, the daily briefing and logging (docs/operations.md)."""

    log_json: bool = Field(
        False, description="Log one JSON object per line (also: environment VMS_LOG_JSON=1)."
    )
    verify_share_per_day: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Share of recorded segments whose SHA-256 is re-checked each day (0: off).",
    )
    verify_interval_s: float = Field(
        3600.0, gt=0, description="How often a slice of the daily re-verification runs."
    )
    health_check_interval_s: float = Field(
        30.0, gt=0, description="How often camera health is checked."
    )
    unhealthy_after_s: float = Field(
        120.0,
        gt=0,
        description="Not connected, or no packet, this long: camera_unhealthy.",
    )
    briefing_enabled: bool = Field(True, description="Write the daily briefing under vms serve.")
    briefing_time: str = Field(
        "06:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local time (HH:MM, site.timezone) the previous day's briefing is written.",
    )
    briefing_dir: Path | None = Field(
        None, description="Folder of the briefings (default: <storage.root>/briefings)."
    )

    @property
    def briefing_hour_minute(self) -> tuple[int, int]:
        hour, minute = self.briefing_time.split(":")
        return int(hour), int(minute)
