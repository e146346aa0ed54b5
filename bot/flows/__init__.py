"""One package per step of the procedure (propose, approve G1, details G2, precheck G3, go G4,
execute, verify G5, and the window's own life). Each has the same files: ``listeners.py``
(parse the payload, call, reply) -> ``flow.py`` (load, decide in the core, save, post) ->
``blocks.py`` (Block Kit), and ``modals.py`` where the step has a modal. Imports go that way
only; across steps only ``flow.py`` imports another step's ``flow.py``. See docs/architecture.md.
"""
