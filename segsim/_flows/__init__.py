"""The parts of :mod:`segsim.flows` (where they are imported from): the base of its models
(:mod:`.base`), the steps and the one walk over them (:mod:`.steps`), and the triggers,
exit/restart conditions and activation settings (:mod:`.triggers`). The ``Flow`` itself,
the lifecycle and the channels are in :mod:`segsim.flows`.
"""
