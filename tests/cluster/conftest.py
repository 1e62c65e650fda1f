"""Cluster fixtures: the camera tests' real H.264 clip (served by the RTSP test server)."""

from tests.cameras.conftest import h264_clip  # noqa: F401  (shared session fixture)
