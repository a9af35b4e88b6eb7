"""Where a response limit is measured: the SLA book (started, due, warned, met or missed, paused) and
the schedules of processes that start on a timer. It imports the SpiffWorkflow wrapper's run view,
notifications and storage, never the runtime that calls it."""
