"""Alembic environment: runs on the connection vms.db.migrate hands over."""

from __future__ import annotations

from alembic import context

import vms.cameras.gb28181.models
import vms.cluster.models
import vms.custody.models
import vms.evidence.models  # noqa: F401  (registers the evidence tables in Base.metadata)
from vms.db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
