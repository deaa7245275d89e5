"""Built-in synthetic data: :func:`demo` builds a store with a realistic contact population.

Everything is generated offline from a seed; nothing is downloaded.
"""

from __future__ import annotations

from segsim.datasets.demo import DEMO_LISTS, DEMO_TYPES, demo, demo_frames

__all__ = ["DEMO_LISTS", "DEMO_TYPES", "demo", "demo_frames"]
