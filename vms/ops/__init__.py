"""Operations: the scheduled jobs, the daily briefing and metrics (docs/operations.md)."""
