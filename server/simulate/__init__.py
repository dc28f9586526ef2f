"""Branch days on a virtual clock: simulated customers and tellers driving the real use cases.

:mod:`.scenario` reads what a day looks like (YAML, validated), :mod:`.engine` runs it
through :mod:`server.services` on a virtual clock, :mod:`.measure` says how it went (the
summary report, the SLA, the wait estimate's error as customers saw it) and
:mod:`.plans` turns the staffing advice into a plan to try.
"""
