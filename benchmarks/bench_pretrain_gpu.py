"""GPU pre-training speed: Lightning versus a bare PyTorch loop, same model, same batches.

One prepared run: it reads ``--steps`` batches from the Parquet shards of a built dataset
(pyarrow only: this script imports neither ray, mlflow nor webdataset, which the GPU image
lacks), draws every step's masks/negatives once, then trains the ``base`` config in bf16

1. with Lightning (``PretrainingModule``, the module ``mirencoder pretrain`` trains), and
2. with a bare loop (autocast bf16, AdamW, the same schedule and clipping),

from the same initial weights on the identical batches, and reports tokens/s of each, their
ratio (target: Lightning >= 0.9x the bare loop), samples/s, graph nodes/s and the model FLOPs
utilisation (MFU) against the card's dense bf16 peak. Without a GPU it falls back to the tiny
config in float32 on the CPU (a smoke test of the script; no speed claims).

Usage::

    python benchmarks/bench_pretrain_gpu.py --dataset runs/datasets/pretrain-c-cpp-v1 \
        [--config base] [--steps 60] [--warmup 10] [--batch-size 64] [--json out.json] [--write]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Dense bf16 peak (FLOP/s) by card name fragment; the first match wins.
PEAK_BF16 = (("H200", 989e12), ("H100 PCIe", 756e12), ("H100", 989e12), ("A100", 312e12),
             ("L40S", 362e12), ("A10", 125e12), ("L4", 121e12))


def _ensure_package() -> None:
    """Makes ``mirencoder.*`` importable from the source tree when it is not installed."""
    spec = importlib.util.spec_from_file_location("from_source", REPO_ROOT / "benchmarks" /
                                                  "from_source.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ensure_package()


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=str(REPO_ROOT / "runs/datasets/pretrain-c-cpp-v1"),
                        help="a built dataset folder (its Parquet shards are read)")
    parser.add_argument("--config", default=None, help="training config (default: base on GPU, "
                        "tiny on CPU)")
    parser.add_argument("--steps", type=int, default=60, help="timed + warm-up steps per run")
    parser.add_argument("--warmup", type=int, default=10, help="untimed first steps per run")
    parser.add_argument("--batch-size", type=int, default=None, help="override data.batch_size")
    parser.add_argument("--compile", action="store_true", help="torch.compile the token encoder")
    parser.add_argument("--json", default=None, help="write the figures as JSON here")
    parser.add_argument("--write", action="store_true", help="write the BENCHMARKS.md section")
    parser.add_argument("--section-from", default=None, metavar="JSON",
                        help="only write the BENCHMARKS.md section of a saved --json report")
    return parser.parse_args()


def _prepare_batches(config, dataset: Path, steps: int):
    """``steps`` TaskInputs on the CPU (pinned when CUDA is there), drawn once for both runs."""
    import torch

    from mirencoder.training.core.data.stream import ProgramStream
    from mirencoder.training.core.data.token_ids import tokenizer_ids_from_dataset
    from mirencoder.training.pretraining.datamodule import load_dataset_index, split_shards
    from mirencoder.training.pretraining.lit_module import step_seed
    from mirencoder.training.pretraining.tasks.task_inputs import prepare_task_inputs

    index = load_dataset_index(dataset)
    ids = tokenizer_ids_from_dataset(dataset, index)
    shards = split_shards(dataset, index, config.data.train_split, "parquet")
    stream = ProgramStream(shards, "parquet", batch_size=config.data.batch_size,
                           context_length=config.model.context_length, tokenizer_ids=ids,
                           seed=config.data.seed, shuffle_buffer=config.data.shuffle_buffer,
                           training=True, max_graph_nodes=config.data.max_graph_nodes,
                           variants_per_group=config.data.variants_per_group,
                           windows=config.data.windows, max_windows=config.data.max_windows)
    node_mask_id = ids.node_vocab_size  # GraphEncoder's [MASK] slot
    batches = []
    for step, batch in zip(range(steps), stream, strict=False):
        generator = torch.Generator().manual_seed(step_seed(config.data.seed, "train", step, 0))
        inputs = prepare_task_inputs(batch, config.task, ids, node_mask_id=node_mask_id,
                                     generator=generator)
        batches.append(inputs.pin_memory() if torch.cuda.is_available() else inputs)
    if len(batches) < steps:
        raise SystemExit(f"{dataset}: only {len(batches)} batches for {steps} steps")
    return ids, batches


def _model_flops(config, batch, vocab_size: int) -> float:
    """Training FLOPs of one step (forward + backward = 3 × forward), dense matmuls only."""
    m = config.model
    tokens = batch.inputs.tokens.numel()  # padded: what the GPU computes
    length = batch.inputs.tokens.size(1)
    per_token = 2 * m.layers * (4 * m.d_model ** 2 + 2 * m.d_model * m.ffn)
    attention = 2 * m.layers * 2 * length * m.d_model  # QK^T and AV, per token
    nodes = batch.inputs.graph.num_nodes
    edges = 2 * batch.inputs.graph.edge_index.size(1)
    relations = 6
    graph = m.gnn_layers * (2 * nodes * m.gnn_hidden * m.gnn_hidden * (relations + 1)
                            + 2 * edges * m.gnn_hidden)
    masked = int((batch.mlm_labels != -100).sum()) if batch.mlm_labels is not None else 0
    # the MLM head (dense + decoder) runs on the masked positions only
    head = 2 * masked * m.d_model * (m.d_model + vocab_size)
    return 3.0 * (tokens * (per_token + attention) + graph + head)


def _timed(sync, run_step, batches, warmup: int) -> tuple[float, int]:
    """Runs every batch; returns (seconds of the steps after ``warmup``, their real tokens)."""
    start, tokens = None, 0
    for i, batch in enumerate(batches):
        if i == warmup:
            sync()
            start = time.perf_counter()
        run_step(batch)
        if i >= warmup:
            tokens += int(batch.inputs.attention_mask.sum())
    sync()
    return time.perf_counter() - start, tokens


def bare_loop(config, ids, batches, device, warmup: int, seed: int) -> dict:
    """The same model and optimiser in a plain PyTorch loop."""
    import torch

    from mirencoder.training.pretraining.lit_module import build_optimizer
    from mirencoder.training.pretraining.pretraining_model import PretrainingModel

    torch.manual_seed(seed)
    model = PretrainingModel(config.model, config.task, ids).to(device)
    if config.trainer.compile:
        model.encoder.token_encoder = torch.compile(model.encoder.token_encoder)
    optimizer, scheduler = build_optimizer(model, config.optim, config.trainer.max_steps)
    use_bf16 = device.type == "cuda"

    def step(batch):
        batch = batch.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = model(batch)["loss"]
        loss.backward()
        if config.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

    sync = torch.cuda.synchronize if use_bf16 else (lambda: None)
    seconds, tokens = _timed(sync, step, batches, warmup)
    return {"seconds": seconds, "tokens": tokens}


def lightning_loop(config, ids, batches, device, warmup: int, seed: int) -> dict:
    """``PretrainingModule`` under a Lightning Trainer on the same batches."""
    import lightning as L
    import torch

    from mirencoder.training.pretraining.lit_module import PretrainingModule

    class Timer(L.Callback):
        def __init__(self):
            self.start, self.tokens = None, 0

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if batch_idx == warmup:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if batch_idx >= warmup:
                self.tokens += int(batch.inputs.attention_mask.sum())

        def on_train_end(self, trainer, module):
            if device.type == "cuda":
                torch.cuda.synchronize()
            self.seconds = time.perf_counter() - self.start

    torch.manual_seed(seed)
    module = PretrainingModule(config.to_dict(), ids.to_dict())
    timer = Timer()
    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False)
    trainer = L.Trainer(max_steps=len(batches), accelerator="gpu" if device.type == "cuda"
                        else "cpu", devices=1, precision="bf16-mixed" if device.type == "cuda"
                        else "32-true", gradient_clip_val=config.optim.grad_clip or None,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[timer], num_sanity_val_steps=0,
                        log_every_n_steps=config.trainer.log_every)
    trainer.fit(module, train_dataloaders=loader)
    return {"seconds": timer.seconds, "tokens": timer.tokens}


def main() -> int:
    args = _parse()
    if args.section_from:
        write_report_section(json.loads(Path(args.section_from).read_text()))
        return 0
    _ensure_package()
    import torch

    from benchmarks.report import machine_description
    from mirencoder.training.pretraining.config import load_pretrain_config

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    name = args.config or ("base" if cuda else "tiny")
    overrides = {"trainer.max_steps": max(args.steps, 1000), "optim.warmup_steps": 0,
                 "trainer.compile": bool(args.compile)}
    if args.batch_size:
        overrides["data.batch_size"] = args.batch_size
    config = load_pretrain_config(REPO_ROOT / "training" / "configs" / f"{name}.yaml", overrides)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    prep_start = time.perf_counter()
    ids, batches = _prepare_batches(config, Path(args.dataset), args.steps)
    prep_seconds = time.perf_counter() - prep_start
    seed = config.data.seed
    bare = bare_loop(config, ids, batches, device, args.warmup, seed)
    lit = lightning_loop(config, ids, batches, device, args.warmup, seed)
    timed = batches[args.warmup:]
    flops = sum(_model_flops(config, b, ids.vocab_size) for b in timed)
    samples = sum(b.num_programs for b in timed)
    nodes = sum(b.inputs.graph.num_nodes for b in timed)
    card = torch.cuda.get_device_name(0) if cuda else "CPU (fallback: no speed claims)"
    peak = next((value for key, value in PEAK_BF16 if key in card), None) if cuda else None
    report = {"card": card, "config": name, "precision": "bf16-mixed" if cuda else "32",
              "steps_timed": len(timed), "batch_size": config.data.batch_size,
              "context_length": config.model.context_length, "prep_seconds": prep_seconds,
              "warmup": args.warmup, "dataset": Path(args.dataset).name,
              "machine": machine_description(),
              "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "torch": torch.__version__}
    for label, run in (("bare", bare), ("lightning", lit)):
        report[f"{label}_tokens_per_s"] = run["tokens"] / run["seconds"]
        report[f"{label}_samples_per_s"] = samples / run["seconds"]
        report[f"{label}_nodes_per_s"] = nodes / run["seconds"]
        report[f"{label}_step_ms"] = 1000 * run["seconds"] / len(timed)
        report[f"{label}_mfu"] = (flops / run["seconds"] / peak) if peak else None
    report["lightning_over_bare"] = bare["seconds"] / lit["seconds"]
    report["model_tflops_per_step"] = flops / len(timed) / 1e12
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    if args.write and cuda:
        write_report_section(report)
    return 0


def write_report_section(report: dict) -> None:
    """The BENCHMARKS.md section of one report (also from a saved ``--json`` file)."""
    from benchmarks.report import write_section

    def mfu(value: float | None) -> str:
        return f"{100 * value:.1f} %" if value else "n/a"

    name = report["config"]
    body = (f"`{name}` config, {report['precision']}, batch {report['batch_size']}, context "
            f"{report['context_length']}, {report['steps_timed']} timed steps after "
            f"{report['warmup']} warm-up steps, on {report['card']} (torch {report['torch']});"
            f" dataset `{report['dataset']}`.\n\n"
            "| loop | tokens/s | samples/s | graph nodes/s | ms/step | MFU |\n"
            "|---|---:|---:|---:|---:|---:|\n"
            + "".join(f"| {label} | {report[f'{label}_tokens_per_s']:,.0f} | "
                      f"{report[f'{label}_samples_per_s']:,.1f} | "
                      f"{report[f'{label}_nodes_per_s']:,.0f} | "
                      f"{report[f'{label}_step_ms']:.1f} | {mfu(report[f'{label}_mfu'])} |\n"
                      for label in ("bare", "lightning"))
            + f"\nLightning / bare: **{report['lightning_over_bare']:.3f}×** (target >= 0.9×)."
            f" Model FLOPs per step: {report['model_tflops_per_step']:.2f} TFLOP (dense "
            "matmuls, forward + backward).")
    write_section(f"pretrain_gpu_{name}", f"Pre-training on one GPU: {name} (Lightning vs "
                  "bare PyTorch)", body, machine=report.get("machine"),
                  measured=report.get("measured"))


if __name__ == "__main__":
    sys.exit(main())
