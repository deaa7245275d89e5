"""The condition language's internals; the public names are in :mod:`segsim.conditions` and
:mod:`segsim.event_conditions` (docs/design.md §3).

One module per part, each importing only those above it in this list, so that nothing here
imports in a cycle (``tests/test_code_health.py``):

* :mod:`.values`: the values a condition compares with, and their text;
* :mod:`.base`: the operators (``&``, ``|``, ``~``) and text shared by every kind of node,
  and :class:`~.base.Face`, one function per node class for each thing done with a tree;
* :mod:`.events`: property conditions, the event leaves and their builders;
* :mod:`.models`: the attribute leaves, the groups, the ``Condition`` union and builders;
* :mod:`.walk`: what a tree reads (attributes, lists, segments, events, time);
* :mod:`.props`: a property condition as the attribute condition it mirrors;
* :mod:`.validate`, :mod:`.sql`, :mod:`.python`: the faces (validation, SQL, Python).
"""
