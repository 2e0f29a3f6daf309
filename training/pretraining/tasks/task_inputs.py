"""Draws every random choice of one pre-training step on the CPU, before the batch moves.

Masks, hidden edges, negatives, matching partners (or the uniform numbers from which the
contrastive mode draws them on the device) and variant group ids come from one seeded CPU
generator, so a step is reproducible (resume gives the same numbers) and the accelerator never
waits on index computations. The result moves to the device as a whole.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

import torch
from torch_geometric.data import Batch

from ...core.data.collate import ProgramBatch
from ...core.data.token_ids import TokenizerIds
from ...core.models.encoder import node_in_loop
from ...core.models.fusion import text_counts
from ..config import TaskConfig, parse_views
from .anchor import anchor_targets
from .decisions import decision_targets
from .graph_autoencoding import (
    mask_node_texts,
    sample_negative_edges,
    split_edges,
)
from .loops import loop_membership
from .masked_tokens import mask_tokens
from .matching import matching_partners
from .outcome import level_ids, node_text_distributions
from .variant import group_ids

__all__ = ["TaskInputs", "prepare_task_inputs"]


@dataclass(slots=True)
class TaskInputs:
    """One step's model input (corrupted views) and the targets of the tasks.

    Attributes:
        inputs: the batch the encoder sees: masked tokens, masked node texts, hidden edges.
        mlm_labels: ``[B, L]`` original ids at chosen positions, -100 elsewhere (or None).
        pos_src, pos_dst, pos_flow: ``[P]`` hidden (or all) edges to reconstruct.
        neg_src, neg_dst: ``[Q]`` non-edges.
        masked_nodes, node_text_targets: ``[M]`` masked nodes and their true text ids.
        partners: ``[B]`` matching partner of each program (size/corpus hard-negative modes;
            None when B < 2 or in the contrastive mode).
        match_draws: ``[2, B]`` uniform numbers from which the contrastive mode draws the
            negatives of each direction (tokens -> graph, graph -> tokens), or None.
        match_hard: ``[2, B]`` bool, which of those negatives are hard, or None.
        group_ids: ``[B]`` variant group of each program (None when no group repeats or the
            variant contrast is off).
        program_ids: ``[B]`` one id per distinct key (None when no key repeats): copies of one
            program in a batch are not each other's negatives.
        level_ids, outcome_targets: ``[B]`` optimisation level of each program and ``[B, V]``
            its node-text distribution from the uncorrupted graph (outcome prediction; None
            when it is off).
        anchor_targets: ``[B, K]`` the properties the anchored coordinates follow (property
            anchoring; None when it is off).
        loop_targets: ``[N]`` loop membership of each node (1 / 0 for instructions, -100
            for other nodes; None when loop membership is off).
        decision_targets: ``[B, 3]`` the -O3 loop vectoriser's decisions for each program's
            source (-100 without a label; None when compiler-decision prediction is off or no
            program of the batch has a label).
        clean_tokens, clean_graph: the uncorrupted token rows and graph, for the second pass
            the program-level objectives read (``task.clean_views``; None when the view is not
            listed or nothing of it was corrupted).
    """

    inputs: ProgramBatch
    mlm_labels: torch.Tensor | None
    pos_src: torch.Tensor
    pos_dst: torch.Tensor
    pos_flow: torch.Tensor
    neg_src: torch.Tensor
    neg_dst: torch.Tensor
    masked_nodes: torch.Tensor
    node_text_targets: torch.Tensor
    partners: torch.Tensor | None
    match_draws: torch.Tensor | None = None
    match_hard: torch.Tensor | None = None
    group_ids: torch.Tensor | None = None
    program_ids: torch.Tensor | None = None
    level_ids: torch.Tensor | None = None
    outcome_targets: torch.Tensor | None = None
    anchor_targets: torch.Tensor | None = None
    loop_targets: torch.Tensor | None = None
    decision_targets: torch.Tensor | None = None
    clean_tokens: torch.Tensor | None = None
    clean_graph: Batch | None = None

    @property
    def num_programs(self) -> int:
        return self.inputs.num_programs

    def copies(self) -> torch.Tensor | None:
        """``[B, B]`` bool: pairs of distinct rows holding the same program (None: none)."""
        if self.program_ids is None:
            return None
        same = self.program_ids[:, None] == self.program_ids[None, :]
        return same & ~torch.eye(same.size(0), dtype=torch.bool, device=same.device)

    def relatives(self) -> torch.Tensor | None:
        """``[B, B]`` bool: pairs of distinct rows of one variant group (copies included;
        None: none)."""
        if self.group_ids is None:
            return self.copies()
        same = self.group_ids[:, None] == self.group_ids[None, :]
        return same & ~torch.eye(same.size(0), dtype=torch.bool, device=same.device)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> TaskInputs:
        changes = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                changes[f.name] = value.to(device, non_blocking=non_blocking)
        return replace(self, **changes)

    def pin_memory(self) -> TaskInputs:
        changes = {f.name: getattr(self, f.name).pin_memory() for f in fields(self)
                   if getattr(self, f.name) is not None}
        return replace(self, **changes)


def prepare_task_inputs(batch: ProgramBatch, task: TaskConfig, ids: TokenizerIds, *,
                        node_mask_id: int, generator: torch.Generator,
                        decision_table: Mapping[str, tuple[int, int, int]] | None = None,
                        anchor_text_ids: Sequence[int] | None = None) -> TaskInputs:
    """Corrupts a CPU batch for the enabled tasks and records their targets.

    ``decision_table``: ``group -> labels`` of compiler-decision prediction
    (``tasks/decisions.load_decision_table``), needed when that task is on.
    ``anchor_text_ids``: the node texts anchoring follows (``anchor.anchor_text_ids``); none:
    the most frequent ones."""
    tokens, labels = batch.tokens, None
    if task.mlm_weight > 0:
        tokens, labels = mask_tokens(batch.tokens, batch.attention_mask, ids=ids,
                                     rate=task.mask_rate,
                                     mask_fraction=task.mask_token_fraction,
                                     random_fraction=task.random_token_fraction,
                                     generator=generator)
    graph = batch.graph
    edge_index, edge_flow = graph.edge_index, graph.edge_flow
    empty = torch.zeros(0, dtype=torch.long)
    pos_src = pos_dst = pos_flow = neg_src = neg_dst = masked = node_targets = empty
    # Loop membership from the graph before any edge is hidden: the loop-counting readout
    # reads it, and its targets must not change with the edges graph auto-encoding hides.
    graph = copy.copy(graph)
    graph.node_in_loop = node_in_loop(edge_index, edge_flow, graph.num_nodes)
    corrupted = graph
    if task.gae_weight > 0:
        split = split_edges(edge_index.size(1), mask_rate=task.gae_edge_mask_rate,
                            max_positives=task.gae_max_edges, generator=generator)
        pos_src, pos_dst = edge_index[0, split.positives], edge_index[1, split.positives]
        pos_flow = edge_flow[split.positives]
        neg_src, neg_dst = sample_negative_edges(edge_index, pos_src, graph.batch, graph.ptr,
                                                 ratio=task.gae_negative_ratio,
                                                 generator=generator)
        corrupted = copy.copy(graph)
        if not bool(split.visible.all()):
            corrupted.edge_index = edge_index[:, split.visible]
            corrupted.edge_flow = edge_flow[split.visible]
            corrupted.edge_position = graph.edge_position[split.visible]
        if task.node_text_mask_rate > 0:
            corrupted.node_text, masked = mask_node_texts(
                graph.node_text, rate=task.node_text_mask_rate, mask_id=node_mask_id,
                generator=generator)
            node_targets = graph.node_text[masked]
    partners = draws = hard = None
    if task.match_weight > 0 and task.hard_negative_mode != "contrastive":
        partners = matching_partners(batch.num_nodes, batch.corpora,
                                     hard_fraction=task.hard_negative_fraction,
                                     mode=task.hard_negative_mode, generator=generator,
                                     keys=batch.keys)
    elif task.match_weight > 0 and batch.num_programs >= 2:
        draws = torch.rand(2, batch.num_programs, generator=generator)
        hard = torch.rand(2, batch.num_programs, generator=generator) < task.hard_negative_fraction
    groups = (group_ids(batch.groups or batch.keys)
              if task.variant_weight > 0 or task.outcome_weight > 0
              or task.vectorisation_weight > 0 or task.contrastive_variants == "ignore" else None)
    levels = targets = None
    if task.outcome_weight > 0 or task.vectorisation_weight > 0:
        levels = level_ids(batch.levels or [""] * batch.num_programs)
        targets = node_text_distributions(graph.node_text, graph.batch, batch.num_programs,
                                          ids.node_vocab_size)
    anchors = None
    if task.anchor_weight > 0:
        counts = torch.bincount(graph.batch, minlength=batch.num_programs)
        if task.anchor_texts == "loop_opcodes":  # counts among the nodes in loops, per node
            in_loop = graph.node_in_loop
            distributions = text_counts(graph.node_text[in_loop], graph.batch[in_loop],
                                        batch.num_programs, ids.node_vocab_size
                                        ) / counts.clamp(min=1)[:, None]
        else:
            distributions = targets if targets is not None else node_text_distributions(
                graph.node_text, graph.batch, batch.num_programs, ids.node_vocab_size)
        anchors = anchor_targets(distributions, counts, task.anchor_columns,
                                 group_ids(batch.groups or batch.keys)
                                 if task.anchor_targets == "group" else None,
                                 scale=task.anchor_scale, text_ids=anchor_text_ids)
    # From the graph before any edge was hidden: targets from the visible control edges (few
    # loops survive 15 % hidden edges) taught a 6-layer GNN to answer "no loop" on whole graphs
    # (accuracy 0.685, F1 0.024 on 153 held-out programs); these give 0.889 / 0.809 at 3 layers
    # (benchmarks/loop_depth_pilot.py --checkpoint).
    loops = (loop_membership(edge_index, edge_flow, graph.node_type)
             if task.loop_weight > 0 else None)
    decisions = None
    if task.decision_weight > 0:
        if decision_table is None:
            raise ValueError("task.decision_weight > 0 needs the dataset's decision labels")
        decisions = decision_targets(batch.groups or batch.keys, decision_table)
    programs = group_ids(batch.keys)  # the same numbering: one id per distinct key
    clean = parse_views(task.clean_views)
    clean_tokens = batch.tokens if "tokens" in clean and labels is not None else None
    graph_corrupted = (corrupted.edge_index is not edge_index
                       or corrupted.node_text is not graph.node_text)
    clean_graph = graph if "graph" in clean and graph_corrupted else None
    return TaskInputs(inputs=batch.replace(tokens=tokens, graph=corrupted), mlm_labels=labels,
                      pos_src=pos_src, pos_dst=pos_dst, pos_flow=pos_flow, neg_src=neg_src,
                      neg_dst=neg_dst, masked_nodes=masked, node_text_targets=node_targets,
                      partners=partners, match_draws=draws, match_hard=hard, group_ids=groups,
                      program_ids=programs, level_ids=levels, outcome_targets=targets,
                      anchor_targets=anchors, loop_targets=loops,
                      decision_targets=decisions, clean_tokens=clean_tokens,
                      clean_graph=clean_graph)
