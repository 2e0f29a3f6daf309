"""Runs a build stage over its tasks on Ray: one long-lived worker (a Ray actor) per slot of
the stage's resources sets the stage up once and then processes one task at a time, so a
worker's setup is paid once, not per task; progress counts task weights."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from .stages.base import Stage, StageTask

__all__ = ["TaskOutcome", "run_stage", "worker_count"]

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
    """Holds one set-up stage on one Ray worker process."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        stage.setup()

    def process(self, task: StageTask) -> tuple[object, str]:
        import ray

        return self.stage.process(task), ray.get_runtime_context().get_node_id()


def worker_count(stage: Stage, tasks: int, cluster_cpus: float) -> int:
    """Workers to start: as many as the cluster's CPUs hold at the stage's ``num_cpus``, never
    more than there are tasks, at least one."""
    return max(1, min(tasks, int(cluster_cpus // stage.num_cpus)))


def run_stage(stage: Stage[StageTask, ResultT], tasks: Sequence[StageTask], *, desc: str,
              show_progress: bool = True) -> list[TaskOutcome[ResultT]]:
    """Runs ``stage`` over ``tasks`` on the connected Ray cluster and waits for all.

    Args:
        stage: a constructed stage (shipped to each worker, set up there once).
        tasks: the units of work; the order they start in, not the order they finish in.
        desc: the progress bar's label.
        show_progress: a progress bar in task weights (inputs, records) on stderr.

    Returns:
        One outcome per task, in the order the tasks finished.

    Raises:
        ray.exceptions.RayTaskError: a task raised; the other workers are stopped.
    """
    import ray
    from tqdm import tqdm

    if not tasks:
        return []
    remote_worker = ray.remote(num_cpus=stage.num_cpus, max_restarts=_MAX_RESTARTS,
                               max_task_retries=_MAX_RESTARTS)(_StageWorker)
    count = worker_count(stage, len(tasks), ray.cluster_resources().get("CPU", 1.0))
    workers = [remote_worker.remote(stage) for _ in range(count)]
    queue = deque(tasks)
    in_flight: dict = {}

    def hand_next(worker) -> None:
        task = queue.popleft()
        in_flight[worker.process.remote(task)] = (worker, task)

    outcomes: list[TaskOutcome[ResultT]] = []
    try:
        for worker in workers[:len(queue)]:
            hand_next(worker)
        with tqdm(total=sum(task.weight for task in tasks), desc=desc, unit="file",
                  disable=not show_progress, dynamic_ncols=True) as bar:
            while in_flight:
                [ref], _ = ray.wait(list(in_flight), num_returns=1)
                worker, task = in_flight.pop(ref)
                result, node_id = ray.get(ref)
                outcomes.append(TaskOutcome(result, node_id))
                bar.update(task.weight)
                if queue:
                    hand_next(worker)
    finally:
        for worker in workers:
            ray.kill(worker)
    return outcomes
