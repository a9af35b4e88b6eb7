"""Working time: the business calendar (Chinese public holidays with 调休, working hours, working-day
arithmetic), the company's overrides kept in the database, and the engine's commands that edit them.
It imports only storage."""
