"""Protocols for the outside systems the pipeline talks to.

Stages depend on these, never on each other's adapters; `wiring.py` builds the real ones.
"""

from __future__ import annotations
