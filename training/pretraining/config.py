"""Typed configuration of pre-training: one dataclass per component, checked on construction.

This module declares the fields and finds the bundled configs by name; the merge (dataclass
defaults → YAML config → ``--set section.key=value`` overrides) is the shared engine of
:mod:`mirencoder.infra.config`. Each field carries its help text in ``metadata["help"]``; the
CLI turns it into ``--help`` output.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...infra.config import check as _check
from ...infra.config import help_field as _f
from ...infra.config import load_config
from ...infra.config import raise_problems as _raise
from ...infra.errors import ConfigError
from ..core.model_config import ENCODER_OUTPUTS, ModelConfig

__all__ = [
    "BUNDLED_CONFIG_DIR",
    "ModelConfig", "TaskConfig", "OptimConfig", "DataConfig", "TrainerConfig", "TrackingConfig",
    "PretrainConfig", "config_hash", "config_path", "learning_settings", "load_pretrain_config",
    "parse_views", "parse_view_weights",
    "ANCHOR_SCALES",
    "ANCHOR_LOSSES",
    "ANCHOR_TEXTS",
]


# Where matching takes its hard negatives from (see TaskConfig.hard_negative_mode).
HARD_NEGATIVE_MODES = ("contrastive", "size", "corpus", "size_or_corpus")

# training/configs/: the bundled YAML configs (tiny, base, champion), found by name.
BUNDLED_CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def parse_views(text: str) -> tuple[str, ...]:
    """A comma list of names (views, corpora): ``"fused, tokens"`` -> ``("fused", "tokens")``."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


def parse_view_weights(text: str) -> dict[str, float]:
    """``"fused=0.5, graph=1"`` -> ``{"fused": 0.5, "graph": 1.0}``; raises ValueError on an
    item without ``=``, a weight that is not a number >= 0, or a view named twice."""
    weights: dict[str, float] = {}
    for item in parse_views(text):
        view, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not view:
            raise ValueError(f"{item!r} is not view=weight")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"{item!r}: {value!r} is not a number") from None
        if not weight >= 0 or view in weights:  # `not >=` also refuses nan
            raise ValueError(f"{item!r}: weights are numbers >= 0, one per view")
        weights[view] = weight
    return weights


def _check_views(problems: list[str], name: str, text: str) -> tuple[str, ...]:
    """Checks that ``text`` lists distinct names of fused, tokens, graph (at least one);
    returns them."""
    views = parse_views(text)
    _check(problems, bool(views) and set(views) <= set(ENCODER_OUTPUTS)
           and len(set(views)) == len(views),
           f"{name} must list distinct names of {', '.join(ENCODER_OUTPUTS)}")
    return views


ANCHOR_SCALES = ("fraction", "log_count")
"""What property anchoring's node-text coordinates follow (``task.anchor_scale``)."""
ANCHOR_TEXTS = ("frequent", "opcodes", "loop_opcodes")
"""Which node texts they follow (``task.anchor_texts``)."""
ANCHOR_LOSSES = ("pearson", "mse")
"""How an anchored coordinate is compared with its property (``task.anchor_loss``)."""


@dataclass(kw_only=True, slots=True)
class TaskConfig:
    """The pre-training tasks and their weights (a weight of 0 switches a task off).

    The paper's three (masked tokens, graph auto-encoding, IR-graph matching) plus two
    program-level objectives that reach the ``tokens``, ``graph`` and ``fused`` vectors:
    IR-graph contrastive alignment (CLIP/ALBEF's image-text contrast) and variant contrast
    (SimCLR/SupCon across a source file's optimisation-level variants).
    """

    mlm_weight: float = _f(1.0, "weight of masked language modelling")
    mask_rate: float = _f(0.15, "fraction of IR tokens chosen for MLM (BERT: 0.15)")
    mask_token_fraction: float = _f(0.8, "chosen tokens replaced by [MASK] (BERT: 0.8)")
    random_token_fraction: float = _f(0.1, "chosen tokens replaced by a random token (BERT: 0.1)")
    tie_mlm_head: bool = _f(True, "tie the MLM decoder to the token embedding")
    gae_weight: float = _f(1.0, "weight of graph auto-encoding (edges + flow types)")
    gae_negative_ratio: float = _f(1.0, "negative node pairs per positive edge")
    gae_edge_mask_rate: float = _f(
        0.15, "fraction of edges hidden from message passing and reconstructed "
        "(0: reconstruct visible edges, classic GAE)")
    gae_max_edges: int = _f(4096, "most positive edges scored per batch (sampled)")
    node_text_mask_rate: float = _f(0.15, "fraction of node texts masked and predicted (0: off)")
    node_text_weight: float = _f(0.5, "weight of masked node-text prediction inside GAE")
    gae_edge_weight: float = _f(
        1.0, "weight of edge and flow-type reconstruction inside GAE (0 with gae_edge_mask_rate "
        "0: node texts only, every edge visible)")
    gae_decoder_layers: int = _f(
        0, "message-passing layers of a GraphMAE decoder (Hou et al., KDD'22) between the node "
        "states and the edge and node-text heads, over the visible edges; the features only "
        "reconstruction needs can then live there instead of in the node states the program "
        "vectors pool (GraphMAE: 1). 0: the heads read the node states, as every run before")
    gae_decoder_remask: bool = _f(
        True, "with a decoder, replace the masked nodes' states by a learned [DMASK] vector "
        "before it (GraphMAE's re-mask): their texts come back from the neighbours")
    clean_views: str = _f(
        "", "comma list of views (tokens | graph) that the program-level objectives (every one "
        "on the pooled vectors: contrast, matching, variants, outcomes, spread, anchors, "
        "decisions) read from a second, uncorrupted pass, "
        "as ALBEF and BLIP compute image-text contrast and matching on unmasked text and MLM on "
        "masked text; the reconstruction heads keep the corrupted pass. Each listed view costs "
        "one more forward and backward of its encoder. Empty: one pass on the corrupted inputs")
    match_weight: float = _f(
        1.0, "weight of IR-graph matching, scored on the fused vector of each (tokens, graph) "
        "pair so that it trains the fusion layer (ALBEF's ITM on the multimodal output)")
    hard_negative_fraction: float = _f(
        0.5, "fraction of matching negatives chosen hard, the rest uniformly from the batch "
        "(1: ALBEF, every negative sampled from the contrastive scores)")
    hard_negative_mode: str = _f(
        "contrastive", "hard negatives: contrastive (sampled from the softmax of the contrastive "
        "similarities, both directions, ALBEF; needs contrastive_weight > 0) | size (nearest "
        "node count) | corpus (same corpus) | size_or_corpus")
    contrastive_weight: float = _f(
        0.25, "weight of IR-graph contrastive alignment: symmetric InfoNCE between the projected "
        "tokens and graph vectors, in-batch negatives (0.25, not ALBEF's 1: its gradient is "
        "~5x the MLM one here; at 1 the 150-step demo run ended at MLM loss 3.1, not 1.5)")
    contrastive_dim: int = _f(
        128, "width of the contrastive projections (ALBEF: 256 from 768; here fusion_dim or less)")
    temperature_init: float = _f(
        0.07, "initial learnable contrastive temperature (CLIP's 0.07; kept in [0.01, 0.5])")
    variant_weight: float = _f(
        0.25, "weight of variant contrast (0.25 like the contrastive alignment, whose gradient "
        "size it shares): NT-Xent (SupCon with several positives) on fused "
        "vectors, programs of the same group (one source file's optimisation-level variants) "
        "are positives; off for programs without a group partner in the batch")
    variant_temperature: float = _f(
        0.1, "fixed temperature of the variant contrast (SimCLR/SupCon: 0.1)")
    variant_views: str = _f(
        "fused", "comma list of the vectors the variant contrast acts on: fused | tokens | graph "
        "(default fused only: the contrastive alignment tells tokens/graph variants apart, "
        "pulling them together there would fight it)")
    variant_view_weights: str = _f(
        "", "comma list view=weight, a multiplier on a view's share of the variant contrast "
        "(each listed view's loss is scaled before the mean over variant_views; unlisted "
        "views keep 1), e.g. fused=0.5 to ask the fused vector for less level invariance "
        "than the graph vector. Empty: every view 1")
    variant_projection: str = _f(
        "mlp", "where the variant contrast acts: mlp (SimCLR's projection head; the invariance "
        "lands on the projection) | none (on the L2-normalised embedding itself, which the "
        "optimisation-invariance probe and consumers' nearest-neighbour use read)")
    variant_stop_gradient: str = _f(
        "", "comma list of views (tokens | graph) whose encoder the variant contrast on the fused "
        "vector does not train: it contrasts fuse(tokens, graph) with those views' vectors "
        "detached (stop-gradient), so the invariance lands on the other view and the fusion MLP "
        "while the shielded view keeps what its other objectives put there (e.g. graph: the "
        "compiler's decisions). Empty: every view trained")

    outcome_weight: float = _f(
        0.0, "weight of optimisation-outcome prediction: the fused vector plus a target-level "
        "embedding predicts the node-text distribution of each variant of its group in the "
        "batch at that level, its own included (KL; tasks/outcome.py). 0: off")
    vectorisation_weight: float = _f(
        0.0, "weight of vectorisation-outcome prediction: a linear head over the fused vector "
        "plus a target-level embedding predicts the widest vector type (none, 2, 4, 8, 16+ "
        "lanes) of each variant of its group in the batch at that level (tasks/vectorisation.py; "
        "needs the dataset's node_vocab.json). 0: off")
    spread_weight: float = _f(
        0.0, "weight of embedding spread (VICReg's variance hinge + 1/25 x its covariance term) "
        "on the pooled vectors of spread_views, against dimensional collapse "
        "(tasks/spread.py). 0: off")
    spread_views: str = _f(
        "tokens,graph,fused", "comma list of the vectors the spread term keeps spread: fused | "
        "tokens | graph")
    spread_target_std: float = _f(
        1.0, "per-dimension batch standard deviation the variance hinge asks for (VICReg: 1; "
        "the vectors are LayerNorm outputs, unit variance per vector)")
    anchor_weight: float = _f(
        0.0, "weight of property anchoring: the first anchor_columns coordinates of each vector "
        "of anchor_views follow, by batch correlation, the program's log node count and the "
        "fractions of its most frequent node texts, so single coordinates carry meaning a "
        "tree head can split on (tasks/anchor.py). 0: off")
    anchor_columns: int = _f(
        32, "anchored coordinates: the log node count plus the fractions of the "
        "anchor_columns - 1 most frequent node texts of the dataset's vocabulary")
    anchor_views: str = _f(
        "fused", "comma list of the vectors anchored: fused | tokens | graph")
    anchor_targets: str = _f(
        "group", "group (each program anchored to its variant group's mean properties, as the "
        "variant contrast asks one vector of every level) | own (its own graph's)")
    anchor_scale: str = _f(
        "fraction", "what the node-text coordinates follow: fraction (the text's share of the "
        "graph's nodes) | log_count (log1p of its node count, the opcode histogram's scale: "
        "size and mix in one number, as the histogram control gives the DevMap trees)")
    anchor_texts: str = _f(
        "frequent", "which node texts the columns past the log node count follow: frequent (the "
        "dataset vocabulary's most frequent texts, opcodes and types alike) | opcodes (only "
        "texts that are LLVM opcodes, most frequent first: the opcode histogram's columns; "
        "perfect anchoring on them scores as the histogram on DevMap, on all texts up to "
        "2 points lower, BENCHMARKS.md layernorm-ceiling) | loop_opcodes (the same texts, "
        "counted only among the instructions on a control-flow cycle: the loop-opcode "
        "histogram's columns, pipelines/ir/loops.py)")
    anchor_loss: str = _f(
        "pearson", "pearson (1 - batch correlation per column: scale-free, and a column whose "
        "property is constant in the batch is left free) | mse (the squared difference from "
        "the property itself, every column in every batch: a coordinate must equal its log "
        "count, and stays constant where the property is, e.g. an opcode that no loop of the "
        "batch holds)")
    loop_weight: float = _f(
        0.0, "weight of loop membership: a linear head over each instruction's node state "
        "predicts whether it lies on a cycle of its function's control flow (tasks/loops.py). "
        "0: off")
    decision_weight: float = _f(
        0.0, "weight of compiler-decision prediction: a linear head over each vector of "
        "decision_views predicts what clang -O3's loop vectoriser decides for the program's "
        "source (loops vectorised?, widest VF, largest IC), every variant asked the same "
        "(tasks/decisions.py; needs the dataset's decision_labels.parquet from `mirencoder "
        "dataset decision-labels`). 0: off")
    decision_views: str = _f(
        "fused", "comma list of the vectors compiler-decision prediction reads: fused | tokens "
        "| graph")
    decision_corpora: str = _f(
        "", "comma list of the corpora whose labels are used (empty: all); leave a probe corpus "
        "out to measure transfer across corpora")
    contrastive_variants: str = _f(
        "negative", "a program's other optimisation-level variants in the batch, for the IR-graph "
        "contrastive alignment and the matching negatives it mines: negative (its hardest "
        "distractors: the views must tell the levels apart) | ignore (left out of the softmax "
        "and the negative draws, as SupCon leaves out same-class pairs, so the alignment no "
        "longer pushes apart what the variant contrast pulls together)")

    def __post_init__(self) -> None:
        p: list[str] = []
        for name in ("mlm_weight", "gae_weight", "match_weight", "node_text_weight",
                     "gae_edge_weight",
                     "gae_negative_ratio", "contrastive_weight", "variant_weight",
                     "outcome_weight", "vectorisation_weight", "spread_weight",
                     "anchor_weight", "loop_weight", "decision_weight"):
            _check(p, getattr(self, name) >= 0, f"{name} must be >= 0")
        _check(p, self.mlm_weight + self.gae_weight + self.match_weight
               + self.contrastive_weight + self.variant_weight + self.outcome_weight
               + self.vectorisation_weight + self.spread_weight + self.anchor_weight
               + self.loop_weight + self.decision_weight > 0,
               "at least one task weight must be positive")
        _check(p, 0.0 < self.mask_rate < 1.0, "mask_rate must be in (0, 1)")
        _check(p, 0 <= self.mask_token_fraction and 0 <= self.random_token_fraction
               and self.mask_token_fraction + self.random_token_fraction <= 1.0,
               "mask_token_fraction + random_token_fraction must be within [0, 1]")
        for name in ("gae_edge_mask_rate", "node_text_mask_rate"):
            _check(p, 0.0 <= getattr(self, name) < 1.0, f"{name} must be in [0, 1)")
        _check(p, 0.0 <= self.hard_negative_fraction <= 1.0,
               "hard_negative_fraction must be in [0, 1]")
        _check(p, self.gae_max_edges >= 1, "gae_max_edges must be >= 1")
        _check(p, self.hard_negative_mode in HARD_NEGATIVE_MODES,
               "hard_negative_mode must be " + ", ".join(HARD_NEGATIVE_MODES))
        _check(p, not (self.hard_negative_mode == "contrastive" and self.match_weight > 0
                       and self.contrastive_weight <= 0),
               "hard_negative_mode contrastive needs contrastive_weight > 0 (the negatives are "
               "sampled from its similarities); use size_or_corpus without it")
        _check(p, self.contrastive_dim >= 1, "contrastive_dim must be >= 1")
        # tasks/contrastive.py's TEMPERATURE_MIN/MAX (not imported: this module stays torch-free)
        _check(p, 0.01 <= self.temperature_init <= 0.5, "temperature_init must be in [0.01, 0.5]")
        _check(p, self.variant_temperature > 0, "variant_temperature must be > 0")
        _check(p, self.variant_projection in ("mlp", "none"), "variant_projection must be mlp or none")
        _check(p, self.contrastive_variants in ("negative", "ignore"),
               "contrastive_variants must be negative or ignore")
        views = _check_views(p, "variant_views", self.variant_views)
        try:
            weights = parse_view_weights(self.variant_view_weights)
            _check(p, set(weights) <= set(views),
                   "variant_view_weights must name views listed in variant_views")
        except ValueError as err:
            _check(p, False, f"variant_view_weights: {err}")
        shielded = parse_views(self.variant_stop_gradient)
        _check(p, set(shielded) <= {"tokens", "graph"} and len(set(shielded)) == len(shielded)
               and not set(shielded) & set(views),
               "variant_stop_gradient must list distinct names of tokens, graph that are not "
               "themselves in variant_views")
        _check(p, self.gae_decoder_layers >= 0, "gae_decoder_layers must be >= 0")
        _check(p, self.gae_decoder_layers == 0 or self.gae_weight > 0,
               "gae_decoder_layers needs gae_weight > 0 (the decoder only feeds its heads)")
        clean = parse_views(self.clean_views)
        _check(p, set(clean) <= {"tokens", "graph"} and len(set(clean)) == len(clean),
               "clean_views must list distinct names of tokens, graph")
        _check_views(p, "spread_views", self.spread_views)
        _check(p, self.spread_target_std > 0, "spread_target_std must be > 0")
        _check_views(p, "anchor_views", self.anchor_views)
        _check(p, self.anchor_columns >= 1, "anchor_columns must be >= 1")
        _check(p, self.anchor_targets in ("group", "own"), "anchor_targets must be group or own")
        _check(p, self.anchor_texts in ANCHOR_TEXTS,
               f"anchor_texts must be one of {', '.join(ANCHOR_TEXTS)}")
        _check(p, self.anchor_loss in ANCHOR_LOSSES,
               f"anchor_loss must be one of {', '.join(ANCHOR_LOSSES)}")
        _check(p, self.anchor_scale in ANCHOR_SCALES,
               f"anchor_scale must be one of {', '.join(ANCHOR_SCALES)}")
        _check_views(p, "decision_views", self.decision_views)
        _raise(p, "task")


@dataclass(kw_only=True, slots=True)
class OptimConfig:
    """AdamW with linear warm-up and cosine decay to a floor."""

    lr: float = _f(1e-3, "peak learning rate")
    min_lr: float = _f(1e-4, "learning rate at the end of the cosine")
    weight_decay: float = _f(0.01, "AdamW decoupled weight decay (not on biases, norms)")
    beta1: float = _f(0.9, "AdamW beta1")
    beta2: float = _f(0.98, "AdamW beta2")
    eps: float = _f(1e-8, "AdamW epsilon")
    warmup_steps: int = _f(100, "linear warm-up steps from 0 to lr")
    grad_clip: float = _f(1.0, "gradient-norm clipping (0: off)")
    count_readout_lr_scale: float = _f(
        1.0, "learning-rate multiplier of the counting readout's projection (model."
        "graph_readout: mean_max_size_counts): added in a stage 2, it starts from random "
        "weights while everything else continues, and at the run's lr it barely leaves them "
        "in 300 steps (RESULTS.md); the gates of model.fusion: residual_gated and "
        "residual_sparse share it (no decay), so they can move from 1 to 0 in a short run, "
        "and so does residual_sparse's log-node-count map")

    def __post_init__(self) -> None:
        p: list[str] = []
        _check(p, self.lr > 0, "lr must be > 0")
        _check(p, 0 <= self.min_lr <= self.lr, "min_lr must be in [0, lr]")
        _check(p, self.weight_decay >= 0, "weight_decay must be >= 0")
        _check(p, 0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "betas must be in [0, 1)")
        _check(p, self.eps > 0, "eps must be > 0")
        _check(p, self.warmup_steps >= 0, "warmup_steps must be >= 0")
        _check(p, self.grad_clip >= 0, "grad_clip must be >= 0")
        _check(p, self.count_readout_lr_scale > 0, "count_readout_lr_scale must be > 0")
        _raise(p, "optim")


_WORKER_STARTS = ("forkserver", "spawn", "fork")


@dataclass(kw_only=True, slots=True)
class DataConfig:
    """Where the shards are and how they are streamed."""

    dataset_dir: str = _f("", "a built dataset folder (holds index.json)")
    format: str = _f("wds", "shard format: wds | parquet")
    train_split: str = _f("train", "split to train on")
    val_split: str = _f("validation", "split for validation ('' or empty split: none)")
    batch_size: int = _f(32, "programs per batch per rank")
    num_workers: int = _f(1, "DataLoader worker processes per rank")
    worker_start: str = _f(
        "forkserver", "how DataLoader workers start: forkserver (fork from a small server that "
        "imported the stream once; safe beside the trainer's threads) | spawn | fork (fork the "
        "trainer itself: fastest, the old behaviour; a worker forked from a threaded process "
        "can abort in the allocator)")
    shuffle_buffer: int = _f(256, "samples held for shuffling (0: stream order)")
    seed: int = _f(0, "seed of shard order, shuffling, windows, masks and initialisation")
    max_graph_nodes: int = _f(2048, "graphs keep their first N nodes (and the edges among them)")
    variants_per_group: int = _f(
        2, "most programs of one group (a source file's optimisation-level variants, adjacent "
        "in the shards) in a batch; up to this many travel as one shuffle unit, so the variant "
        "contrast sees positives (2: SimCLR's pair, keeps the most distinct sources per batch; "
        "1: variants shuffle apart; 0: no cap)")
    windows: str = _f(
        "first", "token view of a long program: first (one window: a random one in training, the "
        "first in validation) | all (its first max_windows windows, pooled into one program "
        "vector before the projection, as the embedder's windows=pool does)")
    max_windows: int = _f(
        4, "windows per program with windows=all (4 x 255 tokens covers the median program of "
        "the variant corpus, ~960 tokens; cost grows linearly)")
    mix_dataset_dirs: tuple[str, ...] = _f(
        (), "more built datasets whose train splits are interleaved with dataset_dir's, unit by "
        "unit in a seeded order (a mixed corpus without a rebuild); each must carry "
        "dataset_dir's vocabularies (built with vocab.from_dataset); validation, probes and the "
        "package's basis stay on dataset_dir")
    mix_weights: tuple[float, ...] = _f(
        (), "share of each train split in the stream, dataset_dir first, then mix_dataset_dirs "
        "(normalised; empty: in proportion to their train records, the share one concatenated "
        "corpus would give)")

    def __post_init__(self) -> None:
        p: list[str] = []
        _check(p, self.format in ("wds", "parquet"), "format must be wds or parquet")
        _check(p, self.variants_per_group >= 0, "variants_per_group must be >= 0")
        _check(p, self.windows in ("first", "all"), "windows must be first or all")
        _check(p, self.max_windows >= 1, "max_windows must be >= 1")
        _check(p, self.batch_size >= 1, "batch_size must be >= 1")
        _check(p, self.num_workers >= 0, "num_workers must be >= 0")
        _check(p, self.worker_start in _WORKER_STARTS,
               f"worker_start must be one of {', '.join(_WORKER_STARTS)}")
        _check(p, self.shuffle_buffer >= 0, "shuffle_buffer must be >= 0")
        _check(p, self.seed >= 0, "seed must be >= 0")
        _check(p, self.max_graph_nodes >= 1, "max_graph_nodes must be >= 1")
        _check(p, bool(self.train_split), "train_split must be set")
        _check(p, not self.mix_weights or len(self.mix_weights) == 1 + len(self.mix_dataset_dirs),
               f"mix_weights needs one weight per dataset ({1 + len(self.mix_dataset_dirs)}: "
               f"dataset_dir, then each of mix_dataset_dirs), got {len(self.mix_weights)}")
        _check(p, all(w > 0 for w in self.mix_weights), "mix_weights must be > 0")
        _check(p, not self.mix_weights or bool(self.mix_dataset_dirs),
               "mix_weights is set but mix_dataset_dirs is empty")
        _raise(p, "data")


@dataclass(kw_only=True, slots=True)
class TrainerConfig:
    """Lightning trainer settings, checkpoints and logging cadence."""

    max_steps: int = _f(1000, "optimizer steps of the whole run (a resume ends here too)")
    devices: int = _f(1, "processes (GPUs, or CPU processes) per node")
    num_nodes: int = _f(1, "nodes; devices * num_nodes processes in all")
    accelerator: str = _f("auto", "auto | cpu | gpu")
    precision: str = _f("auto", "auto (bf16-mixed on GPU, 32 on CPU) | 32 | bf16-mixed | 16-mixed")
    strategy: str = _f("auto", "auto (ddp when more than one process) | ddp | ddp_spawn")
    checkpoint_every_n_steps: int = _f(200, "write a checkpoint (and last.ckpt) every N steps")
    keep_checkpoints: bool = _f(False, "keep every step-N.ckpt beside last.ckpt (learning "
                                "curves: export and score each); off: last.ckpt only")
    log_every: int = _f(10, "log metrics every N steps")
    val_every_n_steps: int = _f(0, "validate every N steps (0: no validation)")
    limit_val_batches: int = _f(8, "validation batches per rank")
    output_dir: str = _f("", "run folder (default: runs/pretrain/<name>)")
    stop_at_step: int = _f(0, "stop after this step as if killed (tests of --resume; 0: off)")
    compile: bool = _f(False, "torch.compile the token encoder (GPU)")
    threads: int = _f(0, "torch intra-op threads per process on the CPU (0: the usable cores, "
                      "CPU affinity respected, shared between the devices). 1 makes a CPU run "
                      "bitwise repeatable: with two threads the reductions' order varies and "
                      "two runs of one config drift apart (ARCHITECTURE.md, reproducibility)")
    ray_cpus_per_worker: float = _f(1.0, "CPUs per Ray Train worker (fractions allowed)")
    basis_programs: int = _f(
        1000, "a finished run ships the principal basis of its encoder's outputs in its "
        "package, fitted on this many train-split programs, one per source (0: none; "
        "EmbedConfig.basis='package')")

    def __post_init__(self) -> None:
        p: list[str] = []
        _check(p, self.max_steps >= 1, "max_steps must be >= 1")
        _check(p, self.basis_programs == 0 or self.basis_programs >= 2,
               "basis_programs must be 0 (none) or >= 2")
        _check(p, self.devices >= 1, "devices must be >= 1")
        _check(p, self.num_nodes >= 1, "num_nodes must be >= 1")
        _check(p, self.accelerator in ("auto", "cpu", "gpu", "cuda"),
               "accelerator must be auto, cpu or gpu")
        _check(p, self.precision in ("auto", "32", "32-true", "bf16-mixed", "16-mixed",
                                     "bf16-true"), "precision must be auto, 32, bf16-mixed or 16-mixed")
        _check(p, self.strategy in ("auto", "ddp", "ddp_spawn"),
               "strategy must be auto, ddp or ddp_spawn")
        _check(p, self.checkpoint_every_n_steps >= 1, "checkpoint_every_n_steps must be >= 1")
        _check(p, self.log_every >= 1, "log_every must be >= 1")
        _check(p, self.val_every_n_steps >= 0, "val_every_n_steps must be >= 0")
        _check(p, self.limit_val_batches >= 1, "limit_val_batches must be >= 1")
        _check(p, 0 <= self.stop_at_step <= self.max_steps, "stop_at_step must be in [0, max_steps]")
        _check(p, self.ray_cpus_per_worker > 0, "ray_cpus_per_worker must be > 0")
        _check(p, self.threads >= 0, "threads must be >= 0 (0: the usable cores)")
        _raise(p, "trainer")


@dataclass(kw_only=True, slots=True)
class TrackingConfig:
    """MLflow tracking (on by default) and the optional registry hook."""

    enabled: bool = _f(True, "log the run to MLflow")
    tracking_uri: str = _f("", "MLflow URI ('' : $MLFLOW_TRACKING_URI, else "
                           "sqlite:///<project>/runs/mlflow.db)")
    experiment: str = _f("mirencoder-pretrain", "MLflow experiment name")
    run_name: str = _f("", "MLflow run name ('' : the config name)")
    register: bool = _f(False, "register the encoder package through mirencoder.training.registry.model_registry")
    registered_model_name: str = _f("mirencoder", "registered model name for tracking.register")


@dataclass(kw_only=True, slots=True)
class PretrainConfig:
    """The whole resolved configuration of one pre-training run."""

    name: str = _f("pretrain", "run name (default output folder runs/pretrain/<name>)")
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    init_from: str = _f("", "start from these weights: a pre-training checkpoint (whole module) "
                        "or an encoder package folder (encoder only); '' : random "
                        "(continued pre-training, see init_from.py)")

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ConfigError("name must be a non-empty name without '/'")
        if self.optim.warmup_steps > self.trainer.max_steps:
            raise ConfigError(f"optim.warmup_steps ({self.optim.warmup_steps}) exceeds "
                              f"trainer.max_steps ({self.trainer.max_steps})")

    def to_dict(self) -> dict:
        """Plain nested dict (YAML/JSON-ready)."""
        return asdict(self)


# Fields that say where or how a run executes, not what it learns; left out of the hash.
_UNHASHED = {"data": {"dataset_dir", "num_workers", "worker_start"},
             "trainer": {"output_dir", "stop_at_step", "devices", "num_nodes", "accelerator",
                         "strategy", "log_every", "checkpoint_every_n_steps", "keep_checkpoints",
                         "compile", "threads", "ray_cpus_per_worker", "basis_programs"},
             "tracking": None}


def learning_settings(config: PretrainConfig) -> dict[str, object]:
    """The settings that decide what a run learns, flat (``"optim.lr": 0.001``): every field
    but the run's name and where and how it executes (``_UNHASHED``)."""
    flat: dict[str, object] = {}
    for section, values in config.to_dict().items():
        skipped = _UNHASHED.get(section, set())
        if section == "name" or skipped is None:
            continue
        if isinstance(values, dict):
            flat.update({f"{section}.{k}": v for k, v in values.items() if k not in skipped})
        else:
            flat[section] = values
    return flat


def config_hash(config: PretrainConfig) -> str:
    """sha256 (first 16 hex digits) of the fields that decide what the run learns."""
    data = config.to_dict()
    data.pop("name")
    if not data["init_from"]:  # random initial weights: the hash every run had before the field
        data.pop("init_from")
    if data["model"].get("graph_readout") == "mean_max":  # likewise for the size-blind readout
        data["model"].pop("graph_readout")
    if not data["model"].get("gnn_block_pooling"):  # likewise for a GNN without block pooling
        data["model"].pop("gnn_block_pooling", None)
    if not data["task"]["anchor_weight"]:  # likewise for runs without property anchoring
        for name in ("anchor_weight", "anchor_columns", "anchor_views", "anchor_targets",
                     "anchor_scale"):
            data["task"].pop(name)
    if data["task"].get("anchor_scale") == "fraction":  # the scale every run had before
        data["task"].pop("anchor_scale")
    if data["task"].get("anchor_texts", "frequent") == "frequent":  # the texts every run had
        data["task"].pop("anchor_texts", None)
    if data["task"].get("anchor_loss", "pearson") == "pearson":  # the loss every run had
        data["task"].pop("anchor_loss", None)
    if not data["task"]["loop_weight"]:  # likewise for runs without loop membership
        data["task"].pop("loop_weight")
    if data["optim"]["count_readout_lr_scale"] == 1.0:  # likewise for runs at one lr
        data["optim"].pop("count_readout_lr_scale")
    if not data["task"]["decision_weight"]:  # likewise for runs without decision prediction
        for name in ("decision_weight", "decision_views", "decision_corpora"):
            data["task"].pop(name)
    if data["task"]["gae_edge_weight"] == 1.0:  # the edge weight every run had
        data["task"].pop("gae_edge_weight")
    if not data["task"]["variant_view_weights"]:  # every view at 1, as every run had
        data["task"].pop("variant_view_weights")
    if not data["task"]["clean_views"]:  # one corrupted pass, as every run had
        data["task"].pop("clean_views")
    if not data["task"]["gae_decoder_layers"]:  # the heads on the node states, as every run had
        data["task"].pop("gae_decoder_layers")
        data["task"].pop("gae_decoder_remask")
    # Folders are not hashed (dataset_dir is not: the lineage has the datasets' hashes), but
    # how many are mixed and how is; a run on one dataset hashes as every run did before.
    mixed = len(data["data"].pop("mix_dataset_dirs"))
    if mixed:
        data["data"]["mixed_datasets"] = mixed
    else:
        data["data"].pop("mix_weights")
    for section, names in _UNHASHED.items():
        if names is None:
            data.pop(section)
        else:
            for name in names:
                data[section].pop(name)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_path(name_or_path: str | Path) -> Path:
    """A YAML path, or the file of a bundled config name (``tiny``, ``base``, ``champion``).

    Raises:
        ConfigError: neither a file nor a bundled name (the bundled ones listed).
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    bundled = BUNDLED_CONFIG_DIR / f"{name_or_path}.yaml"
    if bundled.exists():
        return bundled
    known = ", ".join(sorted(p.stem for p in BUNDLED_CONFIG_DIR.glob("*.yaml")))
    raise ConfigError(f"no config file {str(name_or_path)!r} (bundled configs: {known})")


def load_pretrain_config(name_or_path: str | Path | None = None,
                         overrides: Sequence[str] | Mapping[str, Any] = ()) -> PretrainConfig:
    """Defaults, then the YAML config (a path or a bundled name), then the overrides
    (``["model.d_model=64"]`` or ``{"model.d_model": 64}``); see
    :func:`mirencoder.infra.config.load_config`."""
    path = config_path(name_or_path) if name_or_path is not None else None
    return load_config(PretrainConfig, path, overrides)
