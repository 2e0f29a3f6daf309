"""The stage contract and its executor on a real local Ray: one pool serves several stages,
each worker sets a stage up once, every task runs once, a task's or a setup's error reaches
the driver, and a stage refuses an earlier stage that does not write what it reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from mirencoder.infra.ray_runtime import ray_session
from mirencoder.pipelines.executor import StageExecutor, run_stage, worker_count
from mirencoder.pipelines.stages.base import Stage


@dataclass(frozen=True)
class _Task:
    number: int
    weight: int = 1


class _CountingStage(Stage[_Task, tuple[int, int, int]]):
    """Returns (task number, worker pid, setups this stage saw on that worker)."""

    name: ClassVar[str] = "counting"

    def __init__(self, fail_on: int | None = None, fail_setup: bool = False) -> None:
        self.fail_on, self.fail_setup = fail_on, fail_setup
        self.setups = 0

    def setup(self) -> None:
        if self.fail_setup:
            raise OSError("no toolchain on this worker")
        self.setups += 1

    def process(self, task: _Task) -> tuple[int, int, int]:
        if task.number == self.fail_on:
            raise ValueError(f"task {task.number} is bad")
        return task.number, os.getpid(), self.setups


class _DiesOnceStage(_CountingStage):
    """Its worker process dies on task 0 the first time (a marker file says it did)."""

    def __init__(self, marker: Path) -> None:
        super().__init__()
        self.marker = marker

    def process(self, task: _Task) -> tuple[int, int, int]:
        if task.number == 0 and not self.marker.exists():
            self.marker.write_text("died once")
            os._exit(1)  # as an out-of-memory kill would: no exception, the process is gone
        return super().process(task)


class _TwoCpuStage(_CountingStage):
    num_cpus: ClassVar[float] = 2.0


def test_worker_count_follows_the_cluster_cpus():
    assert worker_count(_CountingStage(), cluster_cpus=2.0) == 2
    assert worker_count(_TwoCpuStage(), cluster_cpus=5.0) == 2
    assert worker_count(_TwoCpuStage(), cluster_cpus=1.0) == 1


@pytest.fixture
def workers_import_this_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ray's workers unpickle the stages above by importing this module: put its folder on
    # their path (they inherit the environment of the Ray the test starts).
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]))


def test_one_pool_serves_stages_in_turn_each_set_up_once_per_worker(
        workers_import_this_module: None):
    tasks = [_Task(n, weight=n + 1) for n in range(12)]
    with ray_session(num_cpus=2), StageExecutor(show_progress=False) as executor:
        first = executor.run(_CountingStage(), tasks, desc="first")
        second = executor.run(_CountingStage(), tasks[:5], desc="second")
        assert executor.run(_CountingStage(), [], desc="none") == []
    for outcomes, count in ((first, 12), (second, 5)):
        assert sorted(outcome.result[0] for outcome in outcomes) == list(range(count))
        assert {outcome.result[2] for outcome in outcomes} == {1}  # one setup per worker
        assert all(outcome.node_id for outcome in outcomes)
    pids = {outcome.result[1] for outcome in first}
    assert 1 <= len(pids) <= 2
    assert {outcome.result[1] for outcome in second} <= pids  # the same workers


def test_errors_reach_the_driver(workers_import_this_module: None):
    tasks = [_Task(n) for n in range(6)]
    with ray_session(num_cpus=2):
        with pytest.raises(Exception, match="task 3 is bad"):
            run_stage(_CountingStage(fail_on=3), tasks, desc="bad task", show_progress=False)
        with pytest.raises(Exception, match="no toolchain on this worker"):
            run_stage(_CountingStage(fail_setup=True), tasks, desc="bad setup",
                      show_progress=False)
        # A pool stopped by an error is started again for the next stage.
        with StageExecutor(show_progress=False) as executor:
            with pytest.raises(Exception, match="task 0 is bad"):
                executor.run(_CountingStage(fail_on=0), tasks, desc="bad")
            outcomes = executor.run(_TwoCpuStage(), tasks, desc="after")
    assert sorted(outcome.result[0] for outcome in outcomes) == list(range(6))
    assert len({outcome.result[1] for outcome in outcomes}) == 1  # 2 CPUs: one 2-CPU worker


def test_a_worker_that_dies_is_restarted_and_its_task_retried(
        workers_import_this_module: None, tmp_path: Path):
    tasks = [_Task(n) for n in range(4)]
    with ray_session(num_cpus=2):
        outcomes = run_stage(_DiesOnceStage(tmp_path / "died"), tasks, desc="dies once",
                             show_progress=False)
    assert (tmp_path / "died").exists()
    assert sorted(outcome.result[0] for outcome in outcomes) == list(range(4))
    assert {outcome.result[2] for outcome in outcomes} == {1}  # the restarted worker set up


def test_a_stage_checks_that_the_earlier_stage_writes_what_it_reads():
    from mirencoder.infra.errors import FatalError
    from mirencoder.pipelines.stages.ir_stage import IRStage
    from mirencoder.pipelines.stages.shard_stage import ShardStage

    ShardStage.check_follows(IRStage)  # the build's two stages agree
    assert {"order", "ir_text", "bitcode"} <= set(ShardStage.input_columns)

    class _NeedsMore(ShardStage):
        input_columns: ClassVar[tuple[str, ...]] = (*ShardStage.input_columns, "loop_depth")

    with pytest.raises(FatalError, match="reads loop_depth, which stage 'ir' does not write"):
        _NeedsMore.check_follows(IRStage)
