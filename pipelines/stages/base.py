"""The contract every build stage keeps: declared resources, ``setup()`` once per worker,
``process(task)`` once per task (a unit of work that writes its own output and reports it)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, Protocol, TypeVar

from ...infra.errors import FatalError

__all__ = ["Stage", "StageTask"]


class StageTask(Protocol):
    """One unit of a stage's work. ``weight`` is what progress counts (inputs, records)."""

    @property
    def weight(self) -> int: ...


TaskT = TypeVar("TaskT", bound=StageTask)
ResultT = TypeVar("ResultT")


class Stage(ABC, Generic[TaskT, ResultT]):
    """A build stage (datatrove's ``PipelineStep``, NeMo-Curator's ``ProcessingStage``).

    The executor (:mod:`mirencoder.pipelines.executor`) ships a constructed stage to each of its
    workers, calls :meth:`setup` there once, then :meth:`process` for each task it hands that
    worker. Constructors stay cheap and picklable; anything costly (probing clang, loading a
    vocabulary) belongs in :meth:`setup`.

    A task's output is committed by ``process`` itself, under final names only when complete,
    so that a build run again can skip the tasks whose output exists.
    """

    name: ClassVar[str]
    """Names the stage in progress bars and errors."""
    num_cpus: ClassVar[float] = 1.0
    """CPUs one worker of this stage holds (Ray resources); the executor runs as many workers
    as the cluster's CPUs allow."""
    input_columns: ClassVar[tuple[str, ...]] = ()
    """The columns it reads from the parts an earlier stage wrote."""
    output_columns: ClassVar[tuple[str, ...]] = ()
    """The columns of the parts it writes, for a later stage to read."""

    @classmethod
    def check_follows(cls, earlier: type[Stage]) -> None:
        """Raises when ``earlier``'s parts lack a column this stage reads (checked before any
        work is handed out, not when the first part is read)."""
        missing = [name for name in cls.input_columns if name not in earlier.output_columns]
        if missing:
            raise FatalError(f"stage {cls.name!r} reads {', '.join(missing)}, which stage "
                             f"{earlier.name!r} does not write")

    def setup(self) -> None:  # noqa: B027 - optional hook: most stages need no setup
        """Runs once per worker before its first task."""

    @abstractmethod
    def process(self, task: TaskT) -> ResultT:
        """Does one task and returns what the driver needs of it (small: paths, counts)."""
