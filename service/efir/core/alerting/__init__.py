"""The alert state machine, pure: conditions in, alert states and notifications out.

Time is microseconds UTC passed in; nothing here does I/O. The daemon turns
live window statuses and feed states into :class:`~efir.core.alerting.alert.Condition`
objects, :func:`~efir.core.alerting.lifecycle.step` moves each alert through
``pending`` → ``firing`` → ``resolved``, and :func:`~efir.core.alerting.dispatch.plan`
decides which receiver is told what, grouped per channel, honouring silences,
inhibitions and acknowledgements. The daemon stores the result and the planned
notifications in one transaction (the outbox), so nothing is told twice or lost.
"""
