"""web issue 16: each user's language; when vms raised a custody alert

``users.language`` (NULL: the browser's language, else ``site.language``).
``custody_alerts.opened_at``: when vms raised the alert, where its escalation clock starts;
``raised_at`` stays when the situation began, which a back-dated entry puts in the past.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0016_web"
down_revision = "0005"


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): SQLite needs no table rebuild.
    op.add_column("users", sa.Column("language", sa.String(length=16), nullable=True))
    op.add_column("custody_alerts", ddl.moment("opened_at", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("custody_alerts") as batch:
        batch.drop_column("opened_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
