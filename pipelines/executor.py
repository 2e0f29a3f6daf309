"""Runs build stages over their tasks on Ray: a pool of long-lived workers (Ray actors), one per
slot of the stages' CPUs, serves every stage of a build in turn. Each worker sets a stage up
once, with the first of its tasks it is handed, and gets its next task when it returns one;
progress counts task weights."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from .stages.base import Stage, StageTask

__all__ = ["StageExecutor", "TaskOutcome", "run_stage", "worker_count"]

ResultT = TypeVar("ResultT")

# A worker that dies (its node lost, the process killed) is started again and its task
# retried; an exception raised by a stage is not retried: it reaches the driver as it is.
_MAX_RESTARTS = 2


@dataclass(frozen=True)
class TaskOutcome(Generic[ResultT]):
    """What one task returned, and the Ray node that did it."""

    result: ResultT
    node_id: str


class _StageWorker:
    """One Ray worker process; holds the stage it serves now, set up."""

    def __init__(self) -> None:
        self.key: int | None = None
        self.stage: Stage | None = None

    def process(self, key: int, stage: Stage, task: StageTask) -> tuple[object, str]:
        """Does ``task``, first setting ``stage`` up when it is not the one held. Every call
        carries its stage, so a worker restarted after its process died sets it up again."""
        import ray

        if key != self.key:
            self.key, self.stage = None, None  # the previous stage goes before the next sets up
            stage.setup()
            self.key, self.stage = key, stage
        return self.stage.process(task), ray.get_runtime_context().get_node_id()


def worker_count(stage: Stage, cluster_cpus: float) -> int:
    """Workers a pool for ``stage`` holds: as many as the cluster's CPUs allow at the stage's
    ``num_cpus``, at least one."""
    return max(1, int(cluster_cpus // stage.num_cpus))


class StageExecutor:
    """Runs stages one after another on one pool of Ray workers (``with`` stops the pool).

    The pool starts with the first stage and is kept for the next ones while their
    ``num_cpus`` agree (a stage asking for other CPUs gets a new pool), so a build pays for
    starting its workers once.

    Args:
        show_progress: a progress bar per stage, in task weights, on stderr.
    """

    def __init__(self, *, show_progress: bool = True) -> None:
        self.show_progress = show_progress
        self._workers: list = []
        self._cpus_per_worker: float | None = None
        self._runs = 0

    def __enter__(self) -> StageExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops every worker of the pool."""
        import ray

        for worker in self._workers:
            ray.kill(worker)
        self._workers, self._cpus_per_worker = [], None

    def _pool(self, stage: Stage) -> list:
        import ray

        if self._workers and self._cpus_per_worker == stage.num_cpus:
            return self._workers
        self.close()
        remote_worker = ray.remote(num_cpus=stage.num_cpus, max_restarts=_MAX_RESTARTS,
                                   max_task_retries=_MAX_RESTARTS)(_StageWorker)
        count = worker_count(stage, ray.cluster_resources().get("CPU", 1.0))
        self._workers = [remote_worker.remote() for _ in range(count)]
        self._cpus_per_worker = stage.num_cpus
        return self._workers

    def run(self, stage: Stage[StageTask, ResultT], tasks: Sequence[StageTask], *,
            desc: str) -> list[TaskOutcome[ResultT]]:
        """Runs ``stage`` over ``tasks`` and waits for all.

        Args:
            stage: a constructed stage (put in Ray's object store once; each worker that gets
                one of its tasks sets it up there once).
            tasks: the units of work; the order they start in, not the order they finish in.
            desc: the progress bar's label.

        Returns:
            One outcome per task, in the order the tasks finished.

        Raises:
            ray.exceptions.RayTaskError: a task raised; the pool is stopped.
        """
        import ray
        from tqdm import tqdm

        if not tasks:
            return []
        self._runs += 1
        key, shipped = self._runs, ray.put(stage)
        queue, in_flight = deque(tasks), {}

        def hand_next(slot: int) -> None:
            task = queue.popleft()
            in_flight[self._workers[slot].process.remote(key, shipped, task)] = (slot, task)

        outcomes: list[TaskOutcome[ResultT]] = []
        try:
            for slot in range(min(len(self._pool(stage)), len(queue))):
                hand_next(slot)
            with tqdm(total=sum(task.weight for task in tasks), desc=desc, unit="file",
                      disable=not self.show_progress, dynamic_ncols=True) as bar:
                while in_flight:
                    [ref], _ = ray.wait(list(in_flight), num_returns=1)
                    slot, task = in_flight.pop(ref)
                    result, node_id = ray.get(ref)
                    outcomes.append(TaskOutcome(result, node_id))
                    bar.update(task.weight)
                    if queue:
                        hand_next(slot)
        except BaseException:
            self.close()
            raise
        return outcomes


def run_stage(stage: Stage[StageTask, ResultT], tasks: Sequence[StageTask], *, desc: str,
              show_progress: bool = True) -> list[TaskOutcome[ResultT]]:
    """Runs one stage on a pool of its own (:class:`StageExecutor`), stopped afterwards."""
    with StageExecutor(show_progress=show_progress) as executor:
        return executor.run(stage, tasks, desc=desc)
