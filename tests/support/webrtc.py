"""A WebRTC viewer in Python (aiortc) for tests and benchmarks: watches one camera of vms.

async with LiveViewer(base_url, session_cookie, "street-1") as viewer:
    frame = await viewer.frame(timeout=10)   # a decoded av.VideoFrame

async with LiveViewer(base_url, session_cookie, "room-1", audio=True) as viewer:
    viewer.answer["audio"]                   # PCMA, PCMU, opus or None
    sound = await viewer.sound(timeout=10)   # a decoded av.AudioFrame
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack


class LiveViewer:
    """Opens a live view like the browser does (recvonly offer, non-trickle ICE)."""

    def __init__(
        self,
        base_url: str,
        cookie: str,
        camera_id: str,
        *,
        decode: bool = True,
        audio: bool = False,
    ) -> None:
        self.base_url = base_url
        self.cookie = cookie
        self.camera_id = camera_id
        self.decode = decode
        self.audio = audio
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)
        self.sounds: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)
        self.answer: dict[str, Any] = {}
        self._track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        self._audio_track: asyncio.Future[MediaStreamTrack] = (
            asyncio.get_running_loop().create_future()
        )
        self._reader: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveViewer:
        try:
            await self._connect()
        except BaseException:
            await self.pc.close()
            raise
        self._reader = asyncio.create_task(self._read())
        if self.audio:
            self._listener = asyncio.create_task(self._listen())
        return self

    async def _connect(self) -> None:
        pc = self.pc
        pc.addTransceiver("video", direction="recvonly")
        if self.audio:
            pc.addTransceiver("audio", direction="recvonly")

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            future = self._audio_track if track.kind == "audio" else self._track
            if not future.done():
                future.set_result(track)

        await pc.setLocalDescription(await pc.createOffer())
        async with httpx.AsyncClient(
            base_url=self.base_url,
            timeout=30,
            cookies={"vms_session": self.cookie},
            headers={"X-Requested-With": "vms"},
        ) as client:
            res = await client.post(
                f"/api/live/{self.camera_id}/offer",
                json={"sdp": pc.localDescription.sdp, "type": "offer"},
            )
        res.raise_for_status()
        answer = res.json()
        self.answer = answer
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def _read(self) -> None:
        track = await self._track
        while True:
            frame = await track.recv()
            if self.decode:
                if self.frames.full():
                    self.frames.get_nowait()
                self.frames.put_nowait(frame)

    async def _listen(self) -> None:
        track = await self._audio_track
        while True:
            frame = await track.recv()
            if self.sounds.full():
                self.sounds.get_nowait()
            self.sounds.put_nowait(frame)

    async def frame(self, timeout: float = 15.0) -> Any:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def sound(self, timeout: float = 15.0) -> Any:
        """The next decoded audio frame of the camera's sound."""
        return await asyncio.wait_for(self.sounds.get(), timeout)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in (self._reader, self._listener):
            if task is not None:
                task.cancel()
        await self.pc.close()
