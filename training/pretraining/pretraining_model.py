"""The encoder plus its task heads, computing the weighted pre-training loss.

Used by the Lightning module and, unchanged, by the bare PyTorch loop of the GPU benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...infra.errors import ConfigError
from ...pipelines.ir.program_graph import FLOWS
from ..core.data.token_ids import TokenizerIds
from ..core.model_config import ModelConfig
from ..core.models.edge_decoder import EdgeDecoder
from ..core.models.encoder import MIREncoder
from ..core.models.gae_decoder import GraphDecoder
from ..core.models.matching_head import MatchingHead
from ..core.models.mlm_head import MLMHead
from ..core.models.node_text_head import NodeTextHead
from .config import TaskConfig, parse_view_weights, parse_views
from .tasks.anchor import anchor_metrics
from .tasks.contrastive import ContrastiveProjection, info_nce_metrics
from .tasks.decisions import DecisionHead, decision_metrics
from .tasks.graph_autoencoding import gae_metrics
from .tasks.loops import LoopHead, loop_metrics
from .tasks.masked_tokens import IGNORE_INDEX, mlm_metrics
from .tasks.matching import matching_metrics, sample_negatives
from .tasks.outcome import OutcomeHead, outcome_metrics
from .tasks.spread import spread_metrics
from .tasks.task_inputs import TaskInputs
from .tasks.variant import VariantProjection, variant_metrics
from .tasks.vectorisation import VectorisationHead, lane_classes, vectorisation_metrics

__all__ = ["PretrainingModel"]


def _add_views_term(total: torch.Tensor, metrics: dict[str, torch.Tensor],
                    results: Sequence[dict[str, torch.Tensor] | None], task: str, metric: str,
                    weight: float, views: Sequence[str],
                    view_weights: Mapping[str, float] | None = None) -> tuple[torch.Tensor, bool]:
    """Adds ``weight`` x one task's loss averaged over its views to ``total`` and logs
    ``<task>_loss`` and ``<task>_<metric>`` (their unweighted means) into ``metrics``; returns
    the new total and whether the fused vector was among the views (with a weight above 0).
    ``view_weights`` scales a view's loss inside the mean (unlisted views: 1). Nothing when
    the task had nothing to score (every view sees the same batch, so the first result
    decides)."""
    if not results or results[0] is None:
        return total, False
    scales = [(view_weights or {}).get(view, 1.0) for view in views]
    losses = torch.stack([r["loss"] for r in results])
    metrics.update({f"{task}_loss": losses.mean().detach(),
                    f"{task}_{metric}": torch.stack([r[metric] for r in results]).mean()})
    weighted = (losses * losses.new_tensor(scales)).mean()
    return total + weight * weighted, any(v == "fused" and s > 0 for v, s in zip(views, scales, strict=True))


class PretrainingModel(nn.Module):
    """MIREncoder + MLM head + edge decoder (+ node-text head) + matching head (+ contrastive
    projections, + variant projection heads, + optimisation-outcome head, + vectorisation head;
    the embedding-spread and property-anchoring terms have no head).

    ``forward(task_inputs)`` returns ``loss`` (the weighted sum) and detached metrics:
    ``mlm_loss``, ``mlm_accuracy``, ``mlm_unigram_accuracy``, ``gae_loss``, ``gae_link_loss``,
    ``gae_flow_loss``, ``gae_link_accuracy``, ``gae_flow_accuracy``, ``node_text_loss``,
    ``node_text_accuracy``, ``match_loss``, ``match_accuracy``, ``contrastive_loss``,
    ``contrastive_accuracy`` (top-1 retrieval tokens -> graph in the batch),
    ``contrastive_temperature``, ``variant_loss``, ``variant_accuracy``, ``outcome_loss``,
    ``outcome_cross_loss``, ``vectorisation_loss``, ``vectorisation_accuracy``,
    ``vectorisation_vector_accuracy``, ``spread_loss``, ``spread_std`` (mean per-dimension
    batch standard deviation of the spread views), ``anchor_loss``, ``anchor_correlation``
    (mean batch correlation of the anchored coordinates with their properties), ``loop_loss``,
    ``loop_accuracy`` (loop membership of the instructions), ``decision_loss``,
    ``decision_accuracy`` (the -O3 vectoriser's vectorised? class of labelled sources) (those of
    enabled tasks; variant ones only when the batch
    holds two programs of one group, the cross-level outcome loss only with two levels of one
    group, the vector accuracy only when a variant in the batch holds vector code).
    """

    def __init__(self, model: ModelConfig, task: TaskConfig, ids: TokenizerIds,
                 node_vector_lanes: Sequence[int] | None = None):
        """``node_vector_lanes``: lanes of each node-text id's vector type (0: none; see
        ``tasks/vectorisation.vector_lanes``), needed by vectorisation-outcome prediction."""
        super().__init__()
        self.task, self.ids = task, ids
        self.encoder = MIREncoder(model, vocab_size=ids.vocab_size, node_vocab_size=ids.node_vocab_size,
                                   pad_id=ids.pad_id)
        tied = self.encoder.token_encoder.embedding if task.tie_mlm_head else None
        self.mlm_head = MLMHead(model.d_model, ids.vocab_size, tied)
        self.edge_decoder = EdgeDecoder(model.gnn_hidden, len(FLOWS))
        self.node_text_head = (NodeTextHead(model.gnn_hidden, ids.node_vocab_size)
                               if task.node_text_mask_rate > 0 else None)
        self.gae_decoder = (GraphDecoder(model.gnn_hidden, layers=task.gae_decoder_layers,
                                         num_positions=model.num_edge_positions,
                                         remask=task.gae_decoder_remask)
                            if task.gae_decoder_layers > 0 else None)  # TaskConfig: only with GAE
        self.matching_head = MatchingHead(model.fusion_dim)
        self.contrastive = (ContrastiveProjection(model.fusion_dim, task.contrastive_dim,
                                                  task.temperature_init)
                            if task.contrastive_weight > 0 else None)
        self.variant_views = parse_views(task.variant_views) if task.variant_weight > 0 else ()
        self.variant_view_weights = parse_view_weights(task.variant_view_weights)
        self.variant_shielded = frozenset(parse_views(task.variant_stop_gradient))
        self.spread_views = parse_views(task.spread_views) if task.spread_weight > 0 else ()
        self.anchor_views = parse_views(task.anchor_views) if task.anchor_weight > 0 else ()
        if self.anchor_views and task.anchor_columns > model.fusion_dim:
            raise ConfigError(f"task.anchor_columns ({task.anchor_columns}) must be at most "
                              f"model.fusion_dim ({model.fusion_dim})")
        self.variant_heads = nn.ModuleDict({view: VariantProjection(
            model.fusion_dim, task.contrastive_dim, task.variant_projection)
            for view in self.variant_views})
        self.outcome_head = (OutcomeHead(model.fusion_dim, ids.node_vocab_size)
                             if task.outcome_weight > 0 else None)
        self.loop_head = LoopHead(model.gnn_hidden) if task.loop_weight > 0 else None
        self.decision_views = (parse_views(task.decision_views) if task.decision_weight > 0
                               else ())
        self.decision_heads = nn.ModuleDict({view: DecisionHead(model.fusion_dim)
                                             for view in self.decision_views})
        self.vectorisation_head = None
        if task.vectorisation_weight > 0:
            if node_vector_lanes is None or len(node_vector_lanes) != ids.node_vocab_size:
                raise ConfigError("task.vectorisation_weight > 0 needs the lanes of each of the "
                                  f"{ids.node_vocab_size} node texts (the dataset's "
                                  "node_vocab.json)")
            self.vectorisation_head = VectorisationHead(model.fusion_dim)
            self.register_buffer("node_vector_lanes", torch.tensor(
                list(node_vector_lanes), dtype=torch.long), persistent=False)

    @property
    def node_mask_id(self) -> int:
        return self.encoder.graph_encoder.mask_id

    def metric_names(self) -> tuple[str, ...]:
        """Every metric ``forward`` can return with this task configuration (a batch may
        give fewer: see the class docstring). Validation logs all of them on every rank,
        because DDP reduces logged metrics key by key and a key one rank lacks would pair
        its collectives wrongly."""
        task = self.task
        names = ["loss"]
        if task.mlm_weight > 0:
            names += ["mlm_loss", "mlm_accuracy", "mlm_unigram_accuracy"]
        if task.gae_weight > 0:
            names += ["gae_loss", "gae_link_loss", "gae_flow_loss", "gae_link_accuracy",
                      "gae_flow_accuracy"]
            if self.node_text_head is not None:
                names += ["node_text_loss", "node_text_accuracy"]
        if self.contrastive is not None:
            names += ["contrastive_loss", "contrastive_accuracy", "contrastive_temperature"]
        if task.match_weight > 0:
            names += ["match_loss", "match_accuracy"]
        if self.variant_views:
            names += ["variant_loss", "variant_accuracy"]
        if self.outcome_head is not None:
            names += ["outcome_loss", "outcome_cross_loss"]
        if self.vectorisation_head is not None:
            names += ["vectorisation_loss", "vectorisation_accuracy",
                      "vectorisation_vector_accuracy"]
        if self.spread_views:
            names += ["spread_loss", "spread_std"]
        if self.anchor_views:
            names += ["anchor_loss", "anchor_correlation"]
        if self.loop_head is not None:
            names += ["loop_loss", "loop_accuracy"]
        if self.decision_views:
            names += ["decision_loss", "decision_accuracy"]
        return tuple(names)

    def forward(self, step: TaskInputs) -> dict[str, torch.Tensor]:
        task = self.task
        out = self.encoder(step.inputs)
        zero = out["tokens"].new_zeros((), dtype=torch.float32)
        total = zero
        metrics: dict[str, torch.Tensor] = {}
        fused_reached = False  # did a loss reach the fusion layer this step?
        if task.mlm_weight > 0 and step.mlm_labels is not None:
            chosen = step.mlm_labels != IGNORE_INDEX
            if bool(chosen.any()):
                m = mlm_metrics(self.mlm_head(out["token_states"][chosen]),
                                step.mlm_labels[chosen])
                total = total + task.mlm_weight * m["loss"]
                metrics.update(mlm_loss=m["loss"].detach(), mlm_accuracy=m["accuracy"],
                               mlm_unigram_accuracy=m["unigram_accuracy"])
        if task.gae_weight > 0:
            gae = zero
            states = self._reconstruction_states(step, out["node_states"])
            if step.pos_src.numel():
                g = gae_metrics(self.edge_decoder, states, step.pos_src, step.pos_dst,
                                step.pos_flow, step.neg_src, step.neg_dst)
                gae = gae + task.gae_edge_weight * (g["link_loss"] + g["flow_loss"])
                metrics.update(gae_link_loss=g["link_loss"].detach(),
                               gae_flow_loss=g["flow_loss"].detach(),
                               gae_link_accuracy=g["link_accuracy"],
                               gae_flow_accuracy=g["flow_accuracy"])
            if self.node_text_head is not None and step.masked_nodes.numel():
                logits = self.node_text_head(states[step.masked_nodes])
                node_loss = F.cross_entropy(logits.float(), step.node_text_targets)
                gae = gae + task.node_text_weight * node_loss
                metrics.update(node_text_loss=node_loss.detach(), node_text_accuracy=(
                    logits.argmax(-1) == step.node_text_targets).float().mean())
            total = total + task.gae_weight * gae
            metrics["gae_loss"] = gae.detach()
        out = self._program_outputs(step, out)
        logits = None
        copies = step.copies()  # the same program twice in the batch: never a negative
        # pairs the contrastive alignment and its matching negatives leave out
        excluded = step.relatives() if task.contrastive_variants == "ignore" else copies
        if self.contrastive is not None and step.num_programs >= 2:
            logits = self.contrastive(out["tokens"], out["graph"])
            c = info_nce_metrics(logits, excluded)
            total = total + task.contrastive_weight * c["loss"]
            metrics.update(contrastive_loss=c["loss"].detach(), contrastive_accuracy=c["accuracy"],
                           contrastive_temperature=self.contrastive.temperature.detach())
        negatives = self._matching_negatives(step, logits, excluded)
        if task.match_weight > 0 and negatives is not None:
            m = matching_metrics(self.matching_head, self.encoder.fusion.fuse_vectors,
                                 out["fused"], out["tokens"], out["graph"], *negatives)
            total = total + task.match_weight * m["loss"]
            metrics.update(match_loss=m["loss"].detach(), match_accuracy=m["accuracy"])
            fused_reached = True
        if self.variant_views and step.group_ids is not None:
            results = [variant_metrics(self.variant_heads[view](self._variant_vectors(out, view)),
                                       step.group_ids, task.variant_temperature, copies)
                       for view in self.variant_views]
            total, reached = _add_views_term(total, metrics, results, "variant", "accuracy",
                                             task.variant_weight, self.variant_views,
                                             self.variant_view_weights)
            fused_reached = fused_reached or reached
        if self.outcome_head is not None and step.outcome_targets is not None:
            o = outcome_metrics(self.outcome_head, out["fused"], step.level_ids, step.group_ids,
                                step.outcome_targets)
            if o is not None:
                total = total + task.outcome_weight * o["loss"]
                metrics["outcome_loss"] = o["loss"].detach()
                if "cross_loss" in o:
                    metrics["outcome_cross_loss"] = o["cross_loss"]
                fused_reached = True
        if self.vectorisation_head is not None and step.outcome_targets is not None:
            v = vectorisation_metrics(
                self.vectorisation_head, out["fused"], step.level_ids, step.group_ids,
                lane_classes(step.outcome_targets, self.node_vector_lanes))
            if v is not None:
                total = total + task.vectorisation_weight * v["loss"]
                metrics.update(vectorisation_loss=v["loss"].detach(),
                               vectorisation_accuracy=v["accuracy"])
                if "vector_accuracy" in v:
                    metrics["vectorisation_vector_accuracy"] = v["vector_accuracy"]
                fused_reached = True
        if self.spread_views and step.num_programs >= 2:
            spreads = [spread_metrics(out[view], task.spread_target_std)
                       for view in self.spread_views]
            total, reached = _add_views_term(total, metrics, spreads, "spread", "std",
                                             task.spread_weight, self.spread_views)
            fused_reached = fused_reached or reached
        if self.anchor_views and step.anchor_targets is not None:
            anchors = [anchor_metrics(out[view], step.anchor_targets, loss=task.anchor_loss)
                       for view in self.anchor_views]
            total, reached = _add_views_term(total, metrics, anchors, "anchor", "correlation",
                                             task.anchor_weight, self.anchor_views)
            fused_reached = fused_reached or reached
        if self.loop_head is not None and step.loop_targets is not None:
            loop = loop_metrics(self.loop_head, out["node_states"], step.loop_targets)
            if loop is not None:
                total = total + task.loop_weight * loop["loss"]
                metrics.update(loop_loss=loop["loss"].detach(), loop_accuracy=loop["accuracy"])
        if self.decision_views and step.decision_targets is not None:
            decisions = [decision_metrics(self.decision_heads[view], out[view],
                                          step.decision_targets)
                         for view in self.decision_views]
            total, reached = _add_views_term(total, metrics, decisions, "decision", "accuracy",
                                             task.decision_weight, self.decision_views)
            fused_reached = fused_reached or reached
        if not fused_reached:  # no loss used the fusion layer: keep it in the graph for DDP
            total = total + out["fused"].sum() * 0.0
        # Unused heads still join the graph (zero gradient) so DDP never waits on them.
        unused = sum(p.sum() for p in self._heads_parameters()) * 0.0
        metrics["loss"] = total + unused
        return metrics

    def _reconstruction_states(self, step: TaskInputs, node_states: torch.Tensor
                               ) -> torch.Tensor:
        """What the GAE heads read: the node states, or the decoder's output over the
        edges the encoder saw (``task.gae_decoder_layers``)."""
        if self.gae_decoder is None:
            return node_states
        graph = step.inputs.graph
        return self.gae_decoder(node_states, step.masked_nodes, graph.edge_index,
                                graph.edge_flow, graph.edge_position)

    def _program_outputs(self, step: TaskInputs, out: dict[str, torch.Tensor]
                         ) -> dict[str, torch.Tensor]:
        """``out`` with its program vectors (``fused``, ``tokens``, ``graph``) from a second
        pass over the uncorrupted views (``task.clean_views``) when the step carries them;
        the states of a view not listed are pooled again as they are. The node states stay
        the corrupted pass's, which the node-level heads read."""
        if step.clean_tokens is None and step.clean_graph is None:
            return out
        batch = step.inputs.replace(
            tokens=step.inputs.tokens if step.clean_tokens is None else step.clean_tokens,
            graph=step.inputs.graph if step.clean_graph is None else step.clean_graph)
        clean = self.encoder(
            batch, token_states=out["token_states"] if step.clean_tokens is None else None,
            node_states=out["node_states"] if step.clean_graph is None else None)
        return {**out, "fused": clean["fused"], "tokens": clean["tokens"],
                "graph": clean["graph"]}

    def _variant_vectors(self, out: dict[str, torch.Tensor], view: str) -> torch.Tensor:
        """The vectors the variant contrast scores for ``view``: for ``fused`` with shielded
        views (``task.variant_stop_gradient``), the fusion of their detached vectors."""
        if view != "fused" or not self.variant_shielded:
            return out[view]
        tokens, graph = out["tokens"], out["graph"]
        if "tokens" in self.variant_shielded:
            tokens = tokens.detach()
        if "graph" in self.variant_shielded:
            graph = graph.detach()
        return self.encoder.fusion.fuse_vectors(tokens, graph)

    def _matching_negatives(self, step: TaskInputs, logits: torch.Tensor | None,
                            excluded: torch.Tensor | None
                            ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(token program, graph program)`` indices of the matching negatives (never a pair
        in ``excluded`` when another column remains), or None."""
        if step.partners is not None:
            partners = step.partners.to(step.inputs.tokens.device)
            return torch.arange(partners.numel(), device=partners.device), partners
        if step.match_draws is None or logits is None:
            return None
        rows = torch.arange(logits.size(0), device=logits.device)
        graphs = sample_negatives(logits, step.match_draws[0], step.match_hard[0], excluded)
        tokens = sample_negatives(logits.t(), step.match_draws[1], step.match_hard[1], excluded)
        return torch.cat([rows, tokens]), torch.cat([graphs, rows])

    def _heads_parameters(self):
        for head in (self.mlm_head, self.edge_decoder, self.gae_decoder, self.node_text_head,
                     self.matching_head, self.contrastive, self.variant_heads, self.outcome_head,
                     self.vectorisation_head, self.loop_head, self.decision_heads):
            if head is not None:
                yield from (p for name, p in head.named_parameters()
                            if not (name == "decoder_weight" and self.mlm_head.tied))
