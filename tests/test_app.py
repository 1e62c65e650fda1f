"""The service process (``vms serve``, composed by ``vms.app``): what it loads for a
configuration that only records and serves the web application."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cameras.helpers import camera

#: Loaded by features this configuration does not use or nobody has used yet: analysis
#: (OpenCV, numpy, torch), court copies (OpenCV), the PostgreSQL driver (the database is
#: SQLite), live view (aiortc: it loads with the first viewer).
NOT_FOR_THIS_CONFIG = (
    *("torch", "ultralytics", "cv2", "supervision", "numpy", "psycopg"),
    *("aiortc", "aioice", "pylibsrtp"),
)

#: Runs ``vms serve`` as the console script does and lists its modules once it has stopped.
SERVE = """
import atexit, json, sys
from vms.cli import main
out, config = sys.argv[1:]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["vms", "serve", "--config", config, "--duration", "1"]
main()
"""


def test_service_process_loads_only_what_the_configuration_uses(tmp_path: Path) -> None:
    config = {
        "storage": {"root": str(tmp_path)},
        "web": {"port": 0},
        "cameras": [camera("rec", "rtsp://127.0.0.1:1/none", analysis_fps=0)],
    }
    path = tmp_path / "vms.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    listed = tmp_path / "modules.json"
    res = subprocess.run(
        [sys.executable, "-c", SERVE, str(listed), str(path)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    modules = set(json.loads(listed.read_text()))
    assert "vms.web.server" in modules  # the web application was served
    assert "vms.cameras.supervisor" in modules
    loaded = sorted(m for m in modules if m.split(".")[0] in NOT_FOR_THIS_CONFIG)
    assert not loaded, f"the service process imported {loaded[:10]}"
