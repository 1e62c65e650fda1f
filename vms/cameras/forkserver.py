"""Imported by the worker processes' fork server after their entry point's module (nothing
else imports it): ``gc.freeze()``.

The server has imported everything recording needs once; the children share those pages
with it for as long as nobody writes to them. Frozen, the children's garbage collector never
walks (and so never writes to) these objects.
"""

from __future__ import annotations

import gc

gc.freeze()
