"""The stage executor on a real local Ray: setup once per worker, every task once, a task's
error reaches the driver, workers bounded by the cluster's CPUs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from mirencoder.infra.ray_runtime import ray_session
from mirencoder.pipelines.executor import run_stage, worker_count
from mirencoder.pipelines.stages.base import Stage


@dataclass(frozen=True)
class _Task:
    number: int
    weight: int = 1


class _CountingStage(Stage[_Task, tuple[int, int, int]]):
    """Returns (task number, worker pid, setups seen by that worker)."""

    name: ClassVar[str] = "counting"

    def __init__(self, fail_on: int | None = None) -> None:
        self.fail_on = fail_on
        self.setups = 0

    def setup(self) -> None:
        self.setups += 1

    def process(self, task: _Task) -> tuple[int, int, int]:
        if task.number == self.fail_on:
            raise ValueError(f"task {task.number} is bad")
        return task.number, os.getpid(), self.setups


class _TwoCpuStage(_CountingStage):
    num_cpus: ClassVar[float] = 2.0


def test_worker_count_follows_cpus_and_tasks():
    assert worker_count(_CountingStage(), tasks=10, cluster_cpus=2.0) == 2
    assert worker_count(_CountingStage(), tasks=1, cluster_cpus=8.0) == 1
    assert worker_count(_TwoCpuStage(), tasks=10, cluster_cpus=5.0) == 2
    assert worker_count(_TwoCpuStage(), tasks=10, cluster_cpus=1.0) == 1


def test_every_task_runs_once_and_each_worker_sets_up_once(monkeypatch: pytest.MonkeyPatch):
    # Ray's workers unpickle the stages above by importing this module: put its folder on
    # their path (they inherit the environment of the Ray this test starts).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]))
    tasks = [_Task(n, weight=n + 1) for n in range(12)]
    with ray_session(num_cpus=2):
        outcomes = run_stage(_CountingStage(), tasks, desc="test", show_progress=False)
        with pytest.raises(Exception, match="task 3 is bad"):
            run_stage(_CountingStage(fail_on=3), tasks, desc="test", show_progress=False)
        assert run_stage(_CountingStage(), [], desc="test", show_progress=False) == []
    numbers = sorted(outcome.result[0] for outcome in outcomes)
    assert numbers == list(range(12))
    workers = {outcome.result[1] for outcome in outcomes}
    assert 1 <= len(workers) <= 2
    assert {outcome.result[2] for outcome in outcomes} == {1}  # one setup, however many tasks
    assert all(outcome.node_id for outcome in outcomes)
