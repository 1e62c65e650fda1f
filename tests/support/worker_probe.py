"""A worker process's entry point that records as usual, then lists the modules it loaded.

Imported inside a worker process (and preloaded by the fork server): it imports nothing the
worker would not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vms.cameras.supervisor import WorkerArgs
from vms.worker_process import run_worker_process

MODULES_FILE = "worker-modules.json"


def record_then_list_modules(args: WorkerArgs) -> None:
    """``run_worker_process`` until it is stopped, then ``sys.modules`` into the storage root."""
    run_worker_process(args)
    root = Path(json.loads(args.config_json)["storage"]["root"])
    (root / MODULES_FILE).write_text(json.dumps(sorted(sys.modules)))
