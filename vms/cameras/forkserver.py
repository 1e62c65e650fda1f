"""What the worker processes' fork server loads before it forks them (nothing else imports it).

Everything recording needs is imported once here; the children share those pages with the
server for as long as nobody writes to them. ``gc.freeze()`` keeps them shared: the
children's garbage collector never walks (and so never writes to) these objects.
"""

from __future__ import annotations

import gc

import vms.cameras.supervisor  # noqa: F401  (the worker processes' entry point and its imports)

gc.freeze()
