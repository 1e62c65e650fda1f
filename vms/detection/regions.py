"""Where in a frame the detector looks: windows around motion and tracks, at model resolution.

Frigate's approach: a small model sees a person who is small in a big frame when it is given
a crop around them at (about) its own input size, instead of the whole frame shrunk into it.
``plan_windows`` turns boxes of interest (motion not explained by a tracked person, the
tracked people themselves when they are due a re-check) into a few windows in frame pixels:

* when the whole frame already fits the model with little shrinking (``full_below``), the
  whole frame is one window: nothing to gain from cropping;
* else each box gets a square window of the model's input size (larger boxes: a larger
  window, shrunk into the model), centred on it and kept inside the frame; a box already
  inside a window adds none;
* more than ``max_windows`` windows: they are made coarser (each 1.5x larger, shrunk more)
  until few enough, up to the whole frame in one.

``cover`` tiles the whole frame (a full re-check) with at most ``max_windows`` windows.
Pure functions over numbers; the pipeline crops and maps boxes back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Windows are worth it only this much finer than the whole frame shrunk into the model.
_FINER = 1.2

#: A box in pixels of the frame: x1, y1, x2, y2.
PixelBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Window:
    """A crop of the frame, integer pixels, x2 / y2 exclusive."""

    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    def contains(self, box: PixelBox, slack: float = 0.0) -> bool:
        x1, y1, x2, y2 = box
        return (
            x1 >= self.x1 - slack
            and y1 >= self.y1 - slack
            and x2 <= self.x2 + slack
            and y2 <= self.y2 + slack
        )

    def inner_edges(self, size: tuple[int, int]) -> tuple[bool, bool, bool, bool]:
        """Which of its edges (left, top, right, bottom) lie inside the frame (cut content)."""
        w, h = size
        return (self.x1 > 0, self.y1 > 0, self.x2 < w, self.y2 < h)


def whole(size: tuple[int, int]) -> Window:
    w, h = size
    return Window(0, 0, w, h)


def shrink(size: tuple[int, int], model: tuple[int, int]) -> float:
    """How much the whole frame is shrunk to fit the model (below 1: enlarged)."""
    w, h = size
    mh, mw = model
    return max(w / mw, h / mh)


def _window_at(cx: float, cy: float, side_w: float, side_h: float, size: tuple[int, int]) -> Window:
    w, h = size
    sw, sh = min(w, math.ceil(side_w)), min(h, math.ceil(side_h))
    x1 = round(min(max(0.0, cx - sw / 2), w - sw))
    y1 = round(min(max(0.0, cy - sh / 2), h - sh))
    return Window(x1, y1, x1 + sw, y1 + sh)


def _around(
    boxes: Sequence[PixelBox], size: tuple[int, int], side: tuple[float, float], margin: float
) -> list[Window]:
    out: list[Window] = []
    # Largest first: a big window often swallows the small boxes near it.
    for box in sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1])):
        if any(win.contains(box) for win in out):
            continue
        x1, y1, x2, y2 = box
        bw, bh = (x2 - x1) * (1 + 2 * margin), (y2 - y1) * (1 + 2 * margin)
        # Keep the model's aspect: scale the window up to hold the box, never down.
        k = max(1.0, bw / side[0], bh / side[1])
        out.append(_window_at((x1 + x2) / 2, (y1 + y2) / 2, side[0] * k, side[1] * k, size))
    return out


def plan_windows(
    boxes: Sequence[PixelBox],
    size: tuple[int, int],
    model: tuple[int, int],
    *,
    full_below: float,
    max_windows: int,
    margin: float = 0.25,
) -> list[Window]:
    """Windows (frame pixels) that hold every box of interest; ``size`` is the frame's
    (width, height), ``model`` the model input's (height, width)."""
    if not boxes:
        return []
    f = shrink(size, model)
    if f <= full_below:
        return [whole(size)]
    mh, mw = model
    scale = 1.0
    while scale * _FINER < f:
        windows = _around(boxes, size, (mw * scale, mh * scale), margin)
        if len(windows) <= max_windows:
            return windows
        scale *= 1.5
    return [whole(size)]


def cover(
    size: tuple[int, int], model: tuple[int, int], *, full_below: float, max_windows: int
) -> list[Window]:
    """At most ``max_windows`` windows tiling the whole frame, as fine as that allows."""
    f = shrink(size, model)
    if f <= full_below or max_windows <= 1:
        return [whole(size)]
    w, h = size
    mh, mw = model
    scale = 1.0
    while scale * _FINER < f:
        sw, sh = min(w, mw * scale), min(h, mh * scale)
        nx, ny = math.ceil(w / sw - 1e-9), math.ceil(h / sh - 1e-9)
        if nx * ny <= max_windows:
            return [
                _window_at(
                    sw / 2 + (i * (w - sw) / (nx - 1) if nx > 1 else 0.0),
                    sh / 2 + (j * (h - sh) / (ny - 1) if ny > 1 else 0.0),
                    sw,
                    sh,
                    size,
                )
                for j in range(ny)
                for i in range(nx)
            ]
        scale *= 1.5
    return [whole(size)]
