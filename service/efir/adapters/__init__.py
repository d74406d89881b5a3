"""Adapters: commands that connect a playout system to Efir without code at the station.

Each publishes canonical ``efir.asrun/1`` events to the broker (QoS 1) on
``{prefix}/{channel}/event``, its retained status ``online`` on
``{prefix}/{channel}/status`` with the Last Will ``offline``, and a heartbeat
on ``{prefix}/{channel}/heartbeat``; each keeps what it has published in a
ledger on disk, so a restart (or a kill -9) resumes with no gap and no
duplicate (docs/integration.md).
"""
