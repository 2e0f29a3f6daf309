"""Stage 1: one input file to normalised IR and its graph view (node texts still as strings),
through the front end (``pipelines/frontend``); one row per variant (optimisation level, and
compiler and flag set where the recipe names several)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pyarrow.parquet as pq

from ...infra.errors import InputError
from ...infra.files import atomic_path
from ..compile import SOURCE_LANGUAGES, CompileConfig
from ..frontend.ir_version import ir_llvm_version
from ..frontend.loader import FrontEnd
from ..frontend.views import graph_view
from ..inputs import InputItem, source_group
from ..ir.program_graph import TEXT_GRAPH_COLUMN_NAMES, empty_graph_columns, graph_arrow_fields
from .base import Stage

__all__ = ["IR_PART_SCHEMA", "IRStage", "IRTask", "PlannedInput", "Variant", "input_variants",
           "rows_to_table"]

# One row per variant of an input of one compile task (DIR/_work/ir/part-NNNNN.parquet).
IR_PART_SCHEMA = pa.schema([
    ("order", pa.int64()),  # position of the variant in the sorted plan: ties in dedup go to the lowest
    ("input", pa.int64()),  # position of its input in the plan
    ("group", pa.string()),  # the input's variant group (inputs.source_group)
    ("opt_level", pa.string()),  # the variant's level; "" for ready IR and refused inputs
    ("path", pa.string()),
    ("corpus", pa.string()),
    ("language", pa.string()),
    ("status", pa.string()),  # ok | failed (duplicate/excluded are decided later, globally)
    ("reason", pa.string()),
    ("message", pa.string()),
    ("ir_sha256", pa.string()),
    ("num_instructions", pa.int32()),
    ("llvm_version", pa.string()),  # LLVM that wrote the input's IR (frontend/ir_version.py)
    ("flag_set", pa.string()),  # the variant's compile.flag_sets name; null: none
    ("ir_text", pa.large_string()),
    ("bitcode", pa.large_binary()),
    *graph_arrow_fields(texts=True),  # GRAPH_COLUMNS, node texts as strings
])


Variant = tuple[str, str | None, str | None]
"""``(level, clang, flag set)`` of one variant (:meth:`CompileConfig.variants`);
``("", None, None)``: ready IR."""


def input_variants(item: InputItem, variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
    """The variants of one input: a source at every (level, compiler, flag set); ready IR, or
    an input refused before compiling, as one variant with level ``""``."""
    if item.rejection is None and item.language in SOURCE_LANGUAGES:
        return variants
    return (("", None, None),)


@dataclass(frozen=True)
class PlannedInput:
    """One input of the plan, as a compile task receives it."""

    first_order: int
    """The order of its first variant; its variants take the orders that follow."""
    input_index: int
    """Its position in the plan."""
    item: InputItem
    include_dirs: tuple[str, ...]
    name: str
    """Its path inside its input: names its variant group."""


@dataclass(frozen=True)
class IRTask:
    """Some consecutive inputs of the plan, written as one IR part file."""

    part: str
    """The IR part this task writes (``_work/ir/part-NNNNN.parquet``): its completion marker."""
    inputs: tuple[PlannedInput, ...]
    weight: int
    """The variants it compiles (what progress counts)."""


class IRStage(Stage[IRTask, str]):
    """Compiles (or reads) each input, normalises its IR and builds its graph view, at every
    variant; one task's rows go to one IR part file.

    Failures of one input become a ``failed`` row with a reason; they never raise.
    """

    name: ClassVar[str] = "ir"
    output_columns: ClassVar[tuple[str, ...]] = tuple(IR_PART_SCHEMA.names)

    def __init__(self, config: CompileConfig):
        self.variants = config.variants()
        self.frontends = {variant: FrontEnd(config.at_variant(*variant))
                          for variant in self.variants}
        self.frontend = self.frontends[self.variants[0]]  # ready IR: the variant does not matter

    def setup(self) -> None:
        """Probes the toolchain once per worker."""
        for frontend in self.frontends.values():
            frontend.probe()

    def process(self, task: IRTask) -> str:
        """Writes the rows of every variant of the task's inputs to its part (temp + rename);
        returns the part's path."""
        rows = [row for planned in task.inputs
                for row in self.process_input(planned.first_order, planned.input_index,
                                              planned.item,
                                              tuple(Path(d) for d in planned.include_dirs),
                                              planned.name)]
        with atomic_path(task.part) as tmp:
            pq.write_table(rows_to_table(rows), tmp, compression="zstd")
        return task.part

    def process_input(self, first_order: int, input_index: int, item: InputItem,
                      include_dirs: tuple[Path, ...], name: str) -> list[dict]:
        """The rows of every variant of one input (orders ``first_order``, ``first_order + 1``,
        ...; variants as :func:`input_variants`), with the input's group (named by ``name``,
        its path inside its input)."""
        group = source_group(name, item.local_path if item.rejection is None else None)
        return [self.process_variant(first_order + i, item, include_dirs, variant=variant,
                                     group=group, input_index=input_index)
                for i, variant in enumerate(input_variants(item, self.variants))]

    def process_variant(self, order: int, item: InputItem,
                        include_dirs: tuple[Path, ...] = (), *, variant: Variant | None = None,
                        group: str = "", input_index: int | None = None) -> dict:
        """One variant's row (default: the first variant; level ``""`` for ready IR)."""
        variant = self.variants[0] if variant is None or not variant[0] else variant
        opt_level, compiled = variant[0], item.language in SOURCE_LANGUAGES
        row = {"order": order, "input": order if input_index is None else input_index,
               "group": group, "opt_level": opt_level if compiled else "",
               "flag_set": variant[2] if compiled else None,
               "path": item.path, "corpus": item.corpus, "language": item.language,
               "status": "failed", "reason": None, "message": None, "ir_sha256": None,
               "num_instructions": 0, "llvm_version": None, "ir_text": None, "bitcode": None,
               **empty_graph_columns()}
        if item.rejection is not None:
            row["opt_level"], row["flag_set"] = "", None
            row["reason"], row["message"] = item.rejection
            return row
        frontend = self.frontends[variant] if compiled else self.frontend
        try:
            data = frontend.file_bytes(item.local_path, item.language, include_dirs)
            row["llvm_version"] = ir_llvm_version(data).version
            ir = frontend.normalize(data)
            graph = graph_view(ir)
        except InputError as error:
            row["reason"], row["message"] = error.reason, str(error)[:2000]
            return row
        except Exception as error:  # noqa: BLE001 - one bad input must not stop a shard
            row["reason"] = "internal_error"
            row["message"] = f"{type(error).__name__}: {error}"[:2000]
            return row
        row.update(status="ok", ir_sha256=ir.sha256, num_instructions=ir.num_instructions,
                   ir_text=ir.text, bitcode=ir.bitcode,
                   **graph.columns(TEXT_GRAPH_COLUMN_NAMES))
        return row


def rows_to_table(rows: list[dict]) -> pa.Table:
    """Packs stage rows into an :data:`IR_PART_SCHEMA` table."""
    columns = {name: [row[name] for row in rows] for name in IR_PART_SCHEMA.names}
    return pa.Table.from_pydict(columns, schema=IR_PART_SCHEMA)

