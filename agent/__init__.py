"""Field Sync for Autotask: the core of the offline-first sync agent (no Qt here)."""

__version__ = "0.1.0"
