"""Pure orchestration rules: the job state machine, server choice, fair share, warm-start key, fleet simulation.

No database, network or clocks here; the queue (db/services) and the dispatcher import these.
"""
