"""The ``gb28181:`` section of the configuration: the SIP platform and its media ports."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from vms.vocab import ConfigModel

GB_ID = r"^\d{20}$"
_ANY = ("0.0.0.0", "::", "")  # noqa: S104 -- recognised, not bound
SipTransport = Literal["udp", "tcp"]
MediaTransport = Literal["udp", "tcp-passive", "tcp-active"]


class PortRangeConfig(ConfigModel):
    """A range of local ports, both ends included."""

    start: int = Field(30000, ge=1024, le=65535, description="First port of the range.")
    end: int = Field(30999, ge=1024, le=65535, description="Last port of the range.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class Gb28181DeviceConfig(ConfigModel):
    """One device (camera, NVR or lower platform) allowed to register."""

    password: str = Field(
        description="SIP digest password of this device, from an environment variable: ${GB_PW_1}."
    )
    name: str = Field("", description="Human name shown before the device reports its own.")


class Gb28181Config(ConfigModel):
    """vms as the GB/T 28181 platform that cameras, NVRs and lower platforms register with."""

    enabled: bool = Field(False, description="Listen for GB/T 28181 devices (SIP) in vms serve.")
    platform_id: str = Field(
        "34020000002000000001",
        pattern=GB_ID,
        description="The platform's 20-digit SIP id (type code 200 in digits 11-13).",
    )
    domain: str | None = Field(
        None,
        pattern=r"^\d{10}$",
        description="SIP domain (10 digits); default: the first 10 digits of platform_id.",
    )
    realm: str | None = Field(None, description="Digest realm; default: the domain.")
    listen_host: str = Field(
        "0.0.0.0",  # noqa: S104 -- devices are on the camera network; media_host says which
        description="Address the SIP listener binds (UDP and TCP).",
    )
    sip_port: int = Field(5060, ge=0, le=65535, description="SIP port, UDP and TCP (0: any).")
    transports: list[SipTransport] = Field(
        default_factory=lambda: list[SipTransport](["udp", "tcp"]),
        min_length=1,
        description="SIP transports.",
    )
    media_host: str | None = Field(
        None,
        description=(
            "This machine's address on the camera network, sent to devices in the SDP as where "
            "to send video; default: listen_host (required when listen_host is 0.0.0.0)."
        ),
    )
    rtp_ports: PortRangeConfig = Field(
        default_factory=PortRangeConfig,
        description="Local ports for receiving RTP, one per live channel (UDP, or TCP).",
    )
    media_transport: MediaTransport = Field(
        "udp",
        description=(
            "Default media transport: udp, tcp-passive (the device connects to vms) or "
            "tcp-active (vms connects to the device); a camera's ?transport= overrides it."
        ),
    )
    password: str | None = Field(
        None,
        description="Password of devices not listed under devices (unset: only listed ones).",
    )
    devices: dict[str, Gb28181DeviceConfig] = Field(
        default_factory=dict, description="Devices by 20-digit id, each with its own password."
    )
    keepalive_interval_s: float = Field(
        60.0, gt=0, description="The keepalive period configured on the devices (心跳周期)."
    )
    keepalive_misses: int = Field(
        3, ge=1, description="Missed keepalives after which a device is offline (心跳超时次数)."
    )
    register_expires_s: int = Field(
        3600, ge=60, description="Registration lifetime granted when a device asks for none."
    )
    invite_timeout_s: float = Field(
        10.0, gt=0, description="How long a device may take to answer an INVITE."
    )
    nonce_ttl_s: float = Field(300.0, gt=0, description="A digest challenge is valid this long.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        import re

        bad = [d for d in self.devices if not re.fullmatch(GB_ID, d)]
        if bad:
            raise ValueError(f"device ids must have 20 digits: {', '.join(bad)}")
        if self.enabled and self.media_address is None:
            raise ValueError(
                "media_host is needed when listen_host is 0.0.0.0: the address devices send "
                "video to, e.g. media_host: 10.1.2.3"
            )
        return self

    @property
    def sip_domain(self) -> str:
        return self.domain or self.platform_id[:10]

    @property
    def digest_realm(self) -> str:
        return self.realm or self.sip_domain

    @property
    def media_address(self) -> str | None:
        if self.media_host:
            return self.media_host
        return None if self.listen_host in _ANY else self.listen_host

    def password_of(self, device_id: str) -> str | None:
        dev = self.devices.get(device_id)
        return dev.password if dev is not None else self.password
