"""The after-sales workflow engine: SpiffWorkflow wrapped with persistence, timers, audit and outbox."""
