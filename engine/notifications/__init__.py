"""Messages leaving the system: the outbox written in a command's transaction, its relay, and the
real transports (SMTP, chat robots). It imports only storage."""
