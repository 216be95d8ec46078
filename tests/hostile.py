"""Hostile inputs shared by the fault-injection tests."""
from __future__ import annotations


class Payload:
    """Unpickling this creates the file ``marker`` (a harmless stand-in for any code a crafted pickle could run)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))
