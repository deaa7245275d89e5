"""Built-in synthetic data: :func:`demo` builds a store with a realistic contact population,
:func:`demo_scenario` the demo scenario (four flows using every action and rule, a delivery
policy, a response model and purchase goals) over it.

Everything is generated offline from a seed; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segsim.datasets.demo import (
    DEMO_EVENT_PROPERTIES,
    DEMO_EVENTS,
    DEMO_LISTS,
    DEMO_TYPES,
    demo,
    demo_events,
    demo_frames,
)

__all__ = [
    "DEMO_EVENTS",
    "DEMO_EVENT_PROPERTIES",
    "DEMO_LISTS",
    "DEMO_SCENARIO",
    "DEMO_TYPES",
    "demo",
    "demo_events",
    "demo_frames",
    "demo_scenario",
]

#: The demo scenario file shipped with the package (a copy of ``datasets/demo_scenario.yaml``).
DEMO_SCENARIO = Path(__file__).with_name("demo_scenario.yaml")


def demo_scenario(contacts: int | None = None, seed: int | None = None) -> Any:
    """The demo scenario over the demo population.

    ``contacts`` and ``seed`` override the population's size and seed (the file says 5,000
    contacts, seed 7); the scenario's own seed is kept.
    """
    from segsim.scenario import DemoSource, load_scenario

    if contacts is None and seed is None:
        return load_scenario(DEMO_SCENARIO)
    import yaml

    file_source = DemoSource(**yaml.safe_load(DEMO_SCENARIO.read_text(encoding="utf-8"))["data"])
    data = DemoSource(
        contacts=file_source.contacts if contacts is None else contacts,
        seed=file_source.seed if seed is None else seed,
    )
    return load_scenario(DEMO_SCENARIO, data=data)
