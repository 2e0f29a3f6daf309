"""Loads run ahead in worker threads and are handed over in input order."""

from __future__ import annotations

import threading
import time

import pytest

from mirencoder.training.embedding.load_ahead import LoadAhead, resolve_workers


class _Loads:
    """Callables that record when they start; input 3 fails."""

    def __init__(self, n: int) -> None:
        self.started: list[int] = []
        self.lock = threading.Lock()
        self.calls = [self._load(i) for i in range(n)]

    def _load(self, i: int):
        def load() -> int:
            with self.lock:
                self.started.append(i)
            time.sleep(0.002 * (i % 3))  # finish out of order
            if i == 3:
                raise ValueError("input 3 is bad")
            return i * i
        return load


@pytest.mark.parametrize("workers", [1, 3])
def test_values_and_errors_come_in_input_order(workers):
    loads = _Loads(12)
    got = []
    with LoadAhead(loads.calls, workers=workers, ahead=4) as ahead:
        for i in range(12):
            try:
                got.append(ahead.take(i)())
            except ValueError as error:
                got.append(str(error))
            # Never more than `ahead` loads started beyond the one just taken.
            assert len(loads.started) <= i + 1 + (4 if workers > 1 else 0)
    assert got == [0, 1, 4, "input 3 is bad", *[i * i for i in range(4, 12)]]
    assert sorted(loads.started) == list(range(12))  # each load ran once


def test_inputs_with_nothing_to_load_are_skipped_and_refused():
    loads = _Loads(5)
    calls = [loads.calls[0], None, loads.calls[2], None, loads.calls[4]]
    with LoadAhead(calls, workers=2) as ahead:
        assert [ahead.take(i)() for i in (0, 2, 4)] == [0, 4, 16]
        with pytest.raises(ValueError, match="nothing to load"):
            ahead.take(1)
    assert sorted(loads.started) == [0, 2, 4]


def test_leaving_early_cancels_the_loads_not_started():
    loads = _Loads(200)
    with pytest.raises(KeyboardInterrupt), LoadAhead(loads.calls, workers=2, ahead=8) as ahead:
        ahead.take(0)()
        raise KeyboardInterrupt
    time.sleep(0.05)
    assert len(loads.started) <= 1 + 8 + 1  # what was submitted, not the other 190


def test_zero_workers_means_one_per_usable_cpu():
    assert resolve_workers(0) >= 1 and resolve_workers(3) == 3
