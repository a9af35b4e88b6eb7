"""When the database undoes a command to break a deadlock, the command is run once more, and a second
time it is a ConcurrencyConflict (409 on a page), never a 500 DeadlockDetected (issue 18)."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import text

from engine.errors import ConcurrencyConflict, DatabaseContention
from engine.storage.unit_of_work import UnitOfWork, retried_once

postgresql_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
                                     reason="PostgreSQL's row locks deadlock; SQLite has one writer at a time")


def test_a_command_undone_once_runs_again_and_succeeds():
    calls = []

    @retried_once
    def claim() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise DatabaseContention("deadlock")
        return "claimed"
    assert claim() == "claimed" and len(calls) == 2


def test_a_command_undone_twice_is_a_conflict():
    calls = []

    @retried_once
    def claim() -> None:
        calls.append(1)
        raise DatabaseContention("deadlock")
    with pytest.raises(ConcurrencyConflict):
        claim()
    assert len(calls) == 2


@postgresql_only
def test_a_real_deadlock_inside_a_unit_of_work_is_a_conflict_not_a_database_error(database, clock):
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE deadlock_probe (id int primary key)"))
        connection.execute(text("INSERT INTO deadlock_probe VALUES (1), (2)"))
    try:
        other = database.engine.connect()
        other.execute(text("SET deadlock_timeout = '20s'"))  # the unit of work detects it, and is undone
        other.execute(text("SELECT id FROM deadlock_probe WHERE id = 1 FOR UPDATE"))
        holding_two = threading.Event()
        outcome: list[BaseException] = []

        def command() -> None:
            try:
                with UnitOfWork(database, clock) as uow:
                    uow.session.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
                    uow.session.execute(text("SELECT id FROM deadlock_probe WHERE id = 2 FOR UPDATE"))
                    holding_two.set()
                    uow.session.execute(text("SELECT id FROM deadlock_probe WHERE id = 1 FOR UPDATE"))
                    uow.commit()
            except BaseException as error:  # noqa: BLE001 - the test inspects it
                outcome.append(error)
        thread = threading.Thread(target=command)
        thread.start()
        assert holding_two.wait(10)
        other.execute(text("SELECT id FROM deadlock_probe WHERE id = 2 FOR UPDATE"))  # waits, then gets it
        thread.join(30)
        other.rollback()
        other.close()
        [error] = outcome
        assert isinstance(error, DatabaseContention) and isinstance(error, ConcurrencyConflict)
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("DROP TABLE deadlock_probe"))
