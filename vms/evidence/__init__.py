"""Evidence: cases, clips, legal holds, retention, the audit log and signed exports."""
