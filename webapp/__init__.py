"""The web layer and command line: the composition root that wires the engine, handlers and settings."""
