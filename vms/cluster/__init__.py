"""Many ``vms serve`` nodes on one PostgreSQL: the database is the coordinator.

- ``notify``: LISTEN/NOTIFY wake-ups, so an alert raised on any node reaches every web node's
  feed at once (SQLite keeps polling);
- ``locks``: a PostgreSQL advisory lock per once-only job (retention, custody checks, briefing,
  re-verification of the bucket), held by one node's session and freed when that node dies;
- ``nodes`` and ``leases``: node heartbeats and camera leases (``SELECT ... FOR UPDATE SKIP
  LOCKED``) with a generation number that fences a node that lost a camera.

No consensus of our own: every decision is a row lock or an advisory lock in PostgreSQL.
See docs/scale-out.md.
"""
