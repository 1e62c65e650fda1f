"""Camera tamper: lens covered or blacked out, image badly blurred, camera turned away."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import cv2
import numpy as np

from vms.detection.config import TamperConfig
from vms.detection.rules.base import (
    IDLE,
    Observation,
    Situation,
    Transition,
    advance,
    transition,
    zone_key,
)
from vms.vocab import EventType

_WIDTH = 320  # analysis width of the grey frame
_THUMB = 96  # width of the structure thumbnail compared with the reference


@dataclass(frozen=True)
class SceneFeatures:
    """What tamper checks compare: brightness, contrast, sharpness and a structure thumbnail."""

    mean: float
    contrast: float
    sharpness: float  # Laplacian variance / contrast squared
    thumb: np.ndarray  # float32, small grey, zero mean and unit variance


def scene_features(image: np.ndarray) -> SceneFeatures:
    """Features of a BGR (or grey) image."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = grey.shape
    small = cv2.resize(grey, (_WIDTH, max(1, round(h * _WIDTH / w))), interpolation=cv2.INTER_AREA)
    contrast = float(small.std())
    # Laplacian energy relative to contrast: a dimmer picture is not a blurred one.
    sharpness = float(cv2.Laplacian(small, cv2.CV_32F).var()) / max(contrast, 1.0) ** 2
    th = max(8, round(small.shape[0] * _THUMB / _WIDTH))
    thumb = cv2.resize(small, (_THUMB, th), interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb = np.asarray(cv2.GaussianBlur(thumb, (3, 3), 0), np.float32)
    return SceneFeatures(float(small.mean()), contrast, sharpness, _normalise(thumb))


def _normalise(a: np.ndarray) -> np.ndarray:
    std = float(a.std())
    out: np.ndarray = ((a - a.mean()) / (std if std > 1e-6 else 1.0)).astype(np.float32)
    return out


def compare(cur: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(correlation, shift): normalised correlation of two thumbnails, and how far the view
    moved (phase correlation), as a share of the frame."""
    if cur.shape != ref.shape:
        cur = cv2.resize(cur, (ref.shape[1], ref.shape[0]), interpolation=cv2.INTER_AREA)
    similarity = float((cur * ref).mean())
    window = cv2.createHanningWindow((ref.shape[1], ref.shape[0]), cv2.CV_32F)
    # phaseCorrelate may work in place: give it copies.
    (dx, dy), _response = cv2.phaseCorrelate(ref.copy(), cur.copy(), window)
    shift = float(np.hypot(dx / ref.shape[1], dy / ref.shape[0]))
    return similarity, shift


@dataclass(frozen=True)
class TamperState:
    """The reference view and one situation per kind of tamper."""

    reference: SceneFeatures | None = None
    covered: Situation = IDLE
    turned: Situation = IDLE
    blurred: Situation = IDLE


KINDS = ("covered", "turned", "blurred")


class TamperRule:
    """Judges each frame against a reference view of the camera: covered (dark or flat),
    turned (the view moved or the scene no longer correlates), blurred (sharpness far below
    the reference's). One kind at a time, in that order, each with its own hysteresis.
    Without a reference image the first normal-looking frame becomes the reference; while
    nothing is wrong it follows the scene slowly (daylight).

    >>> rule = TamperRule(TamperConfig(seconds=5), clear_s=2)
    """

    type: str = EventType.TAMPER
    zone: str | None = None

    def __init__(
        self, config: TamperConfig, clear_s: float, reference: SceneFeatures | None = None
    ) -> None:
        self.config, self.clear_s, self.reference = config, clear_s, reference

    def initial(self) -> TamperState:
        return TamperState(reference=self.reference)

    def judge(self, state: TamperState, f: SceneFeatures) -> tuple[str | None, dict[str, float]]:
        """The kind of tamper ``f`` shows against the state's reference, with the measures."""
        cfg = self.config
        measures = {"mean": round(f.mean, 1), "contrast": round(f.contrast, 1)}
        if f.mean < cfg.dark_level or f.contrast < cfg.flat_contrast:
            return "covered", measures
        ref = state.reference
        if ref is None:
            return None, measures
        similarity, shift = compare(f.thumb, ref.thumb)
        ratio = f.sharpness / ref.sharpness if ref.sharpness > 0 else 1.0
        measures |= {
            "similarity": round(similarity, 3),
            "shift": round(shift, 3),
            "sharpness_ratio": round(ratio, 3),
        }
        if similarity < cfg.min_similarity or shift > cfg.max_shift:
            return "turned", measures
        if ratio < cfg.blur_ratio:
            return "blurred", measures
        return None, measures

    def step(
        self, state: TamperState, obs: Observation, now: datetime
    ) -> tuple[TamperState, list[Transition]]:
        if obs.image is None:
            return state, []
        f = scene_features(obs.image)
        kind, measures = self.judge(state, f)
        if kind is None and not any(getattr(state, k).open for k in KINDS):
            state = replace(state, reference=_follow(state.reference, f))
        out: list[Transition] = []
        for k in KINDS:
            before: Situation = getattr(state, k)
            after, phase = advance(before, kind == k, now, self.config.seconds, self.clear_s)
            key = zone_key(self.type, None, k)
            t = transition(self.type, key, None, before, after, phase, now, {"kind": k, **measures})
            if t is not None:
                out.append(t)
            state = _with(state, k, after)
        return state, out


def _follow(ref: SceneFeatures | None, f: SceneFeatures, rate: float = 0.02) -> SceneFeatures:
    """The reference moved a little towards ``f`` (or ``f`` itself when there is none)."""
    if ref is None:
        return f
    thumb = _normalise((1 - rate) * ref.thumb + rate * f.thumb)
    return SceneFeatures(
        (1 - rate) * ref.mean + rate * f.mean,
        (1 - rate) * ref.contrast + rate * f.contrast,
        (1 - rate) * ref.sharpness + rate * f.sharpness,
        thumb,
    )


def _with(state: TamperState, kind: str, sit: Situation) -> TamperState:
    if kind == "covered":
        return replace(state, covered=sit)
    if kind == "turned":
        return replace(state, turned=sit)
    return replace(state, blurred=sit)
