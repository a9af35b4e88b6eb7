"""Background loops, one a module: the timer worker that fires due timers, starts scheduled cases,
retries incidents and delivers the outbox. Only the composition root starts them."""
