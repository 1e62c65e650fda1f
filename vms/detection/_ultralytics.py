"""Importing Ultralytics the vms way: offline, settings in vms's folder, our thread counts."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import cv2

#: Ultralytics keeps its settings here (never in the user's home folder by surprise).
YOLO_CONFIG_DIR = Path(
    os.environ.get("XDG_CONFIG_HOME", str(Path.home() / ".config")), "vms", "ultralytics"
)

_lock = threading.Lock()


def import_ultralytics() -> None:
    """Import ``ultralytics`` once with YOLO_OFFLINE=1 and a vms-owned YOLO_CONFIG_DIR.

    Ultralytics sets ``OMP_NUM_THREADS=1`` and ``cv2.setNumThreads(0)`` process-wide at
    import; both are undone here so recording and the motion gate keep their OpenCV threads.
    The detector sets its own thread count per model (``DetectorConfig.threads``).
    """
    with _lock:
        os.environ["YOLO_OFFLINE"] = "1"  # no DNS probes, analytics or update checks
        os.environ.setdefault("YOLO_CONFIG_DIR", str(YOLO_CONFIG_DIR))
        # vms pins its dependencies: Ultralytics must never pip-install anything at run time.
        os.environ.setdefault("ULTRALYTICS_SKIP_REQUIREMENTS_CHECKS", "1")
        Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)
        had_omp = "OMP_NUM_THREADS" in os.environ
        cv2_threads = cv2.getNumThreads()
        import ultralytics  # noqa: F401
        from ultralytics.utils import LOGGER

        cv2.setNumThreads(cv2_threads)
        if not had_omp:
            os.environ.pop("OMP_NUM_THREADS", None)
        LOGGER.setLevel(logging.WARNING)
