"""audit_head: the chain head only moves forward, one entry at a time, onto an entry of the log

Create Date: 2026-12-02 09:00:00

Triggers on ``audit_head`` (issue 11): no INSERT (the one row exists since 0002), no DELETE,
no TRUNCATE, and an UPDATE only either leaves the row as it is (writers lock the chain with
``SET seq = seq``) or moves it from entry N to entry N + 1, an entry of ``audit_log`` whose
hash is the new head hash and whose predecessor is the old one. Moving the head back to hide
deleted entries therefore needs the triggers dropped first, like deleting the entries.
``audit_log`` itself is not altered (its two SQLite triggers stay as 0002 made them).
"""

from __future__ import annotations

from alembic import op

revision = "0011_audit_head_guard"
down_revision = "0005"

_MESSAGE = "audit_head only moves forward, one entry at a time, onto an entry of audit_log"

# Allowed: a no-op update (the chain lock) or one step along the chain.
_SQLITE_OK = (
    "(NEW.id = OLD.id AND NEW.seq = OLD.seq AND NEW.hash = OLD.hash) OR "
    "(NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND EXISTS (SELECT 1 FROM audit_log "
    "WHERE seq = NEW.seq AND hash = NEW.hash AND prev_hash = OLD.hash))"
)


_PG_FUNCTION = (
    "CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND ("
    "(NEW.seq = OLD.seq AND NEW.hash = OLD.hash) OR "
    "(NEW.seq = OLD.seq + 1 AND EXISTS (SELECT 1 FROM audit_log "
    "WHERE seq = NEW.seq AND hash = NEW.hash AND prev_hash = OLD.hash))) "
    "THEN RETURN NEW; END IF; RAISE EXCEPTION "
    "'audit_head only moves forward, one entry at a time, onto an entry of audit_log'; END $$"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_head "
            "FOR EACH ROW EXECUTE FUNCTION audit_head_guard()"
        )
        op.execute(
            "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_head_guard()"
        )
        return
    for verb in ("INSERT", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_head_no_{verb.lower()} BEFORE {verb} ON audit_head "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )
    op.execute(
        f"CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head WHEN NOT ({_SQLITE_OK}) "
        f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_head_no_truncate ON audit_head")
        op.execute("DROP TRIGGER audit_head_guard ON audit_head")
        op.execute("DROP FUNCTION audit_head_guard()")
        return
    for name in ("audit_head_no_insert", "audit_head_no_delete", "audit_head_forward"):
        op.execute(f"DROP TRIGGER {name}")
