"""The engine that runs cases: `WorkflowEngine` and its commands (start, complete, claim, cancel,
fire timers, retry incidents), the handler runtime, the task rows and the path a case took, kept in
step as the engine runs. It may import every room below it, never records or the services."""
