"""Running test actions from threads released together by a barrier, as two people pressing a button at
the same moment."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(*actions: Callable[[], T]) -> list[T]:
    """Run the actions in threads released together by a barrier; what each returned. An action that
    raises (anything an action does not turn into a result itself) fails the test."""
    go = threading.Barrier(len(actions), timeout=30)
    results: list = [None] * len(actions)
    crashed: list[BaseException] = []

    def act(index: int) -> None:
        go.wait()
        try:
            results[index] = actions[index]()
        except BaseException as error:  # noqa: BLE001 - the test reports it
            crashed.append(error)
    threads = [threading.Thread(target=act, args=(index,)) for index in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert crashed == [], repr(crashed[0])
    return results
