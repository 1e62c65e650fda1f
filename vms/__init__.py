"""vms: video surveillance and custody-area monitoring."""

__version__ = "0.1.0"
