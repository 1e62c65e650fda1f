"""Custody areas: people held, legal clocks, interviews and the alerts that prevent harm."""
