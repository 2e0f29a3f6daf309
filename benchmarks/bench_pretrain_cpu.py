"""CPU pre-training speed of the ``tiny`` config: samples/s, tokens/s and peak memory.

Runs the real path (``mirencoder pretrain``'s :func:`pretrain`: Lightning, the streaming
DataModule with its worker processes, all three tasks) for ``--steps`` steps on one process,
timing the steps after ``--warmup``. Peak RSS is sampled over the training process and its
DataLoader workers together.

Usage::

    python -m benchmarks.bench_pretrain_cpu [--dataset runs/demo/dataset] [--steps 60]
        [--warmup 10] [--set section.key=value ...] [--no-write]

Writes the ``pretrain_cpu`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import lightning as L
import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent


class Throughput(L.Callback):
    """Times the steps after ``warmup`` and counts their programs and real tokens."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.seconds = warmup, None, 0.0
        self.samples = self.tokens = self.nodes = self.steps = 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if trainer.global_step == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if self.start is not None:
            self.steps += 1
            self.samples += batch.num_programs
            self.tokens += int(batch.inputs.attention_mask.sum())
            self.nodes += int(batch.inputs.graph.num_nodes)
            self.seconds = time.perf_counter() - self.start


class PeakRss:
    """Samples the RSS of this process plus its children every 50 ms."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_info().rss
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run(dataset: Path, steps: int, warmup: int, overrides: dict) -> dict:
    """Trains tiny for ``steps`` steps and returns the throughput figures."""
    from mirencoder.training import pretrain as pretrain_module
    from mirencoder.training.pretraining.config import load_pretrain_config

    meter = Throughput(warmup)
    original = pretrain_module.build_trainer

    def with_meter(*args, **kwargs):  # the real trainer, plus the meter
        trainer = original(*args, **kwargs)
        trainer.callbacks.insert(0, meter)
        return trainer

    with tempfile.TemporaryDirectory() as tmp:
        config = load_pretrain_config(REPO_ROOT / "training" / "configs" / "tiny.yaml", {
            "data.dataset_dir": str(dataset), "trainer.max_steps": steps,
            "trainer.val_every_n_steps": 0, "trainer.checkpoint_every_n_steps": steps,
            "trainer.output_dir": tmp, "trainer.accelerator": "cpu",
            "tracking.enabled": False, "optim.warmup_steps": 0, **overrides})
        pretrain_module.build_trainer = with_meter
        try:
            with PeakRss() as rss:
                started = time.perf_counter()
                result = pretrain_module.pretrain(config)
                wall = time.perf_counter() - started
        finally:
            pretrain_module.build_trainer = original
    return {"config": config.name, "batch_size": config.data.batch_size,
            "num_workers": config.data.num_workers, "context_length": config.model.context_length,
            "parameters": result.num_parameters, "steps_timed": meter.steps,
            "samples_per_s": meter.samples / meter.seconds,
            "tokens_per_s": meter.tokens / meter.seconds,
            "nodes_per_s": meter.nodes / meter.seconds,
            "step_ms": 1000 * meter.seconds / max(meter.steps, 1),
            "peak_rss_mib": rss.peak / 2**20, "wall_s": wall,
            "final_loss": result.metrics.get("train/loss")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=str(REPO_ROOT / "runs" / "demo" / "dataset"))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. data.batch_size=16")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from mirencoder.infra.config import parse_override

    overrides = dict(parse_override(item) for item in args.set)
    load_before = psutil.getloadavg()[0]
    figures = run(Path(args.dataset), args.steps, args.warmup, overrides)
    figures["load_average"] = [round(load_before, 2), round(psutil.getloadavg()[0], 2)]
    print(json.dumps(figures, indent=2))
    if not args.no_write:
        from benchmarks.report import write_section

        body = (f"`tiny` config ({figures['parameters']:,} encoder parameters), float32, one "
                f"training process + {figures['num_workers']} DataLoader worker(s), batch "
                f"{figures['batch_size']}, context {figures['context_length']}, all three tasks; "
                f"dataset `{args.dataset}`; {figures['steps_timed']} steps timed after "
                f"{args.warmup} warm-up steps.\n\n"
                "| samples/s | tokens/s | graph nodes/s | ms/step | peak RSS (MiB, all "
                "processes) |\n|---:|---:|---:|---:|---:|\n"
                f"| {figures['samples_per_s']:.1f} | {figures['tokens_per_s']:,.0f} | "
                f"{figures['nodes_per_s']:,.0f} | {figures['step_ms']:.0f} | "
                f"{figures['peak_rss_mib']:,.0f} |\n\n"
                f"1-minute load average before/after: {figures['load_average'][0]} / "
                f"{figures['load_average'][1]} (other jobs on the machine slow these figures).")
        write_section("pretrain_cpu", "Pre-training on the CPU (tiny)", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
