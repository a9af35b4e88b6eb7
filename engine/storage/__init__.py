"""The database and what it holds: the SQLAlchemy engine and sessions, the declarative base and the
engine's tables, the unit of work (one command, one transaction, its audit events), paging and the
migrations. It imports only `engine.errors` and `engine.clock`; every other room may use it."""
