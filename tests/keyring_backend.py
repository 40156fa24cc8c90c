"""The in-process keyring tests install instead of the OS keyring."""

from agent.credentials import InProcessKeyring as MemoryKeyring

__all__ = ["MemoryKeyring"]
