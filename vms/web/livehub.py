"""The web app's live view, loaded with its first viewer: ``vms.web.live`` brings aiortc
(WebRTC, ICE, SRTP), which a service nobody watches live never needs: 12.4 MB of private
memory and 0.14 s when imported after ``vms.web.app`` (measured with psutil's USS in a fresh
interpreter on this 2-core machine).

The routes and the shutdown talk to this stand-in; it builds the real ``LiveHub`` on the
first offer and passes everything on to it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vms.web.live import CameraTrack, LiveAnswer, LiveHub, PacketFeed


class LazyLiveHub:
    """``LiveHub``'s interface; the hub itself (and aiortc) is made on the first offer."""

    def __init__(self, feeds: Callable[[str], PacketFeed | None], *, web_host: str) -> None:
        self._feeds = feeds
        self._web_host = web_host
        self._hub: LiveHub | None = None

    async def answer(self, camera_id: str, offer_sdp: str) -> LiveAnswer:
        if self._hub is None:
            # Imported in a thread: the first viewer's imports (0.14 s on this 2-core machine
            # with the files cached, more from a cold disk) must not hold the event loop,
            # which serves every other request and the alert feed meanwhile.
            live = await asyncio.to_thread(importlib.import_module, "vms.web.live")
            if self._hub is None:  # another first viewer may have made it meanwhile
                self._hub = live.LiveHub(self._feeds, web_host=self._web_host)
        return await self._hub.answer(camera_id, offer_sdp)

    def viewers(self) -> dict[str, int]:
        return self._hub.viewers() if self._hub is not None else {}

    def source(self, camera_id: str) -> CameraTrack | None:
        return self._hub.source(camera_id) if self._hub is not None else None

    async def close(self) -> None:
        if self._hub is not None:
            await self._hub.close()
