"""Relational graph convolution whose messages depend on edge flow, direction and position."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import MessagePassing

from .relation_plan import RelationPlan

__all__ = ["FlowPositionConv"]


class FlowPositionConv(MessagePassing):
    r"""A relational graph convolution (R-GCN style) with edge-position embeddings.

    .. math::
        \mathbf{x}'_i = \mathbf{W}_0 \mathbf{x}_i + \mathbf{b} + \sum_{r} \sum_{j \in
        \mathcal{N}_r(i)} \frac{1}{|\mathcal{N}_r(i)|} \left( \mathbf{W}_r \mathbf{x}_j +
        \mathbf{p}_{\mathrm{pos}(j,i)} + \mathbf{c}_r \right)

    A relation ``r`` is an edge flow in one direction (3 flows × forward/backward = 6 for
    ProGraML graphs), so control, data and call edges, and their reverses, each get their own
    weight; ``p`` embeds the edge position (operand or successor index), so ``a - b`` and
    ``b - a`` give different messages. Messages are normalised per relation and target node.

    .. note::
        With gradients (training), all relation weights are applied in one matmul to every
        node (``[N, R * out]``) and each edge gathers its row; this avoids per-relation loops
        and needs no torch-scatter/pyg-lib, at the cost of ``N × R × out`` activation memory.
        Given a :class:`~mirencoder.training.core.models.relation_plan.RelationPlan` (inference),
        the same sum is computed in a cheaper order: sources averaged per (relation, target)
        slot, then each slot projected once (see ``relation_plan.py``).

    Args:
        in_channels: size of the input node states.
        out_channels: size of the output node states.
        num_relations: number of relation types ``R``.
        num_positions: edge positions embedded; larger positions share the last embedding.

    Shapes:
        - x: ``[N, in_channels]``; edge_index: ``[2, E]``; edge_type: ``[E]`` in ``[0, R)``;
          edge_position: ``[E]`` (non-negative)
        - output: ``[N, out_channels]``
    """

    def __init__(self, in_channels: int, out_channels: int, num_relations: int,
                 num_positions: int):
        super().__init__(aggr="sum", node_dim=0)
        if num_relations < 1 or num_positions < 1:
            raise ValueError(f"num_relations ({num_relations}) and num_positions "
                             f"({num_positions}) must be >= 1")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_relations, self.num_positions = num_relations, num_positions
        self.weight = nn.Parameter(torch.empty(in_channels, num_relations * out_channels))
        self.relation_bias = nn.Parameter(torch.empty(num_relations, out_channels))
        self.position = nn.Embedding(num_positions, out_channels)
        self.root = nn.Linear(in_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        # Glorot per relation block (fan_in = in, fan_out = out), not over the stacked matrix.
        bound = (6.0 / (self.in_channels + self.out_channels)) ** 0.5
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.zeros_(self.relation_bias)
        nn.init.normal_(self.position.weight, std=0.02)
        self.root.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_type: torch.Tensor,
                edge_position: torch.Tensor, plan: RelationPlan | None = None) -> torch.Tensor:
        """The layer's output; ``plan`` (built from the same edges) selects the inference path."""
        if plan is not None:
            return self._forward_planned(x, plan)
        num_nodes, relations = x.size(0), self.num_relations
        src, dst = edge_index[0], edge_index[1]
        projected = (x @ self.weight).view(num_nodes * relations, self.out_channels)
        slot = dst * relations + edge_type
        degree = torch.bincount(slot, minlength=num_nodes * relations).clamp_(min=1)
        norm = degree[slot].reciprocal().to(x.dtype)
        position = edge_position.clamp(0, self.num_positions - 1)
        edge_message = (projected[src * relations + edge_type] + self.position(position)
                        + self.relation_bias[edge_type]) * norm[:, None]
        out = self.propagate(edge_index, edge_message=edge_message, size=(num_nodes, num_nodes))
        return out + self.root(x)

    def _fixed_terms(self, plan: RelationPlan, root: torch.Tensor) -> torch.Tensor:
        """``root`` plus the position and relation-bias terms (they depend on edges only)."""
        table = torch.cat([self.position.weight, self.relation_bias]).to(root.dtype)
        return torch.addmm(root, plan.extra, table)

    def _forward_planned(self, x: torch.Tensor, plan: RelationPlan) -> torch.Tensor:
        out = self._fixed_terms(plan, self.root(x))
        if plan.slot_matrix is None:
            return out
        aggregated = plan.slot_matrix.apply(x)  # [S, in]: the mean source state of each slot
        weight = self.weight.view(self.in_channels, self.num_relations, self.out_channels)
        messages = aggregated.new_empty(aggregated.size(0), self.out_channels)
        bounds = plan.relation_bounds
        for relation in range(self.num_relations):
            start, stop = bounds[relation], bounds[relation + 1]
            if stop > start:
                torch.mm(aggregated[start:stop], weight[:, relation], out=messages[start:stop])
        return out.index_add_(0, plan.slot_node, messages)

    def forward_per_key(self, x_keys: torch.Tensor, plan: RelationPlan) -> torch.Tensor:
        """The layer's output ``[N, out]`` when node ``i``'s input is ``x_keys[plan.node_key[i]]``.

        Each distinct input is projected once (inference only; the plan needs ``node_key``).
        """
        if plan.node_key is None:
            raise ValueError("forward_per_key needs a plan built with node_key")
        out = self._fixed_terms(plan, torch.index_select(self.root(x_keys), 0, plan.node_key))
        if plan.key_matrix is None:
            return out
        projected = (x_keys @ self.weight).view(-1, self.out_channels)  # [K * R, out]
        return plan.key_matrix.apply(projected, out=out)

    def message(self, edge_message: torch.Tensor) -> torch.Tensor:
        return edge_message

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"num_relations={self.num_relations}, num_positions={self.num_positions})")
