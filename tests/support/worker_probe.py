"""A worker process's entry point that records as usual, then lists the modules it loaded
and counts its malloc arenas.

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
ARENAS_FILE = "worker-arenas.txt"


def record_then_list_modules(args: WorkerArgs) -> None:
    """``run_worker_process`` until it is stopped, then ``sys.modules`` and the number of
    malloc arenas into the storage root."""
    run_worker_process(args)
    root = Path(json.loads(args.config_json)["storage"]["root"])
    (root / MODULES_FILE).write_text(json.dumps(sorted(sys.modules)))
    from tests.support.arenas import malloc_arenas  # after the list: not one of the worker's

    (root / ARENAS_FILE).write_text(str(malloc_arenas()))
