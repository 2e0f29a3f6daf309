"""Relational GNN over the ProGraML-style graph: node text + type in, node states out."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ....pipelines.ir.program_graph import FLOWS, NODE_TYPES
from .flow_position_conv import FlowPositionConv
from .relation_plan import build_relation_plan

__all__ = ["GraphEncoder", "add_reverse_edges"]


def add_reverse_edges(edge_index: torch.Tensor, edge_flow: torch.Tensor,
                      edge_position: torch.Tensor, num_flows: int = len(FLOWS)
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Appends each edge reversed, as relation ``flow + num_flows`` (same position).

    Information then flows both ways while direction stays visible to the layer.
    """
    reverse = edge_index.flip(0)
    return (torch.cat([edge_index, reverse], dim=1),
            torch.cat([edge_flow, edge_flow + num_flows]),
            torch.cat([edge_position, edge_position]))


class GraphEncoder(nn.Module):
    """Node embedding (node-text + node-type) followed by residual FlowPositionConv layers.

    Args:
        node_vocab_size: size of the node-text vocabulary; index ``node_vocab_size`` is the
            extra [MASK] slot used by masked node-text prediction.
        hidden: node-state width.
        layers: message-passing layers.
        num_positions: edge positions embedded per layer.
        dropout: dropout after each layer.

    Shapes:
        - node_text, node_type: ``[N]`` long; edge_index: ``[2, E]``; edge_flow,
          edge_position: ``[E]`` long
        - output: ``[N, hidden]`` node states
    """

    # Take :meth:`_forward_inference` without gradients (set by
    # MIREncoder.use_fast_inference; off by default).
    fast_inference = False

    def __init__(self, *, node_vocab_size: int, hidden: int, layers: int, num_positions: int,
                 dropout: float):
        super().__init__()
        self.node_vocab_size, self.hidden = node_vocab_size, hidden
        self.mask_id = node_vocab_size
        self.node_text = nn.Embedding(node_vocab_size + 1, hidden)
        self.node_type = nn.Embedding(len(NODE_TYPES), hidden)
        self.num_relations = 2 * len(FLOWS)
        self.convs = nn.ModuleList(FlowPositionConv(hidden, hidden, self.num_relations,
                                                    num_positions) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.final_norm = nn.LayerNorm(hidden)
        self.dropout = dropout
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.node_text.weight, std=0.02)
        nn.init.normal_(self.node_type.weight, std=0.02)
        for conv in self.convs:
            conv.reset_parameters()

    def forward(self, node_text: torch.Tensor, node_type: torch.Tensor,
                edge_index: torch.Tensor, edge_flow: torch.Tensor,
                edge_position: torch.Tensor) -> torch.Tensor:
        if self.fast_inference and not torch.is_grad_enabled():
            return self._forward_inference(node_text, node_type, edge_index, edge_flow,
                                           edge_position)
        x = self.node_text(node_text) + self.node_type(node_type)
        edge_index, relation, position = add_reverse_edges(edge_index, edge_flow, edge_position)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            update = F.gelu(conv(norm(x), edge_index, relation, position))
            x = x + F.dropout(update, p=self.dropout, training=self.training)
        return self.final_norm(x)

    def _forward_inference(self, node_text: torch.Tensor, node_type: torch.Tensor,
                           edge_index: torch.Tensor, edge_flow: torch.Tensor,
                           edge_position: torch.Tensor) -> torch.Tensor:
        """The same function without gradients, computed in a cheaper order.

        One :class:`RelationPlan` serves every layer; the first layer's input depends on
        (node text, node type) only, so it is projected once per distinct pair.
        """
        types = len(NODE_TYPES)
        pair = node_text * types + node_type
        present = torch.bincount(pair, minlength=(self.node_vocab_size + 1) * types) > 0
        keys = present.nonzero().flatten()  # the distinct (text, type) pairs, sorted
        node_key = torch.index_select(present.cumsum(0) - 1, 0, pair)
        x_keys = self.node_text(keys // types) + self.node_type(keys % types)
        x = torch.index_select(x_keys, 0, node_key)
        edge_index, relation, position = add_reverse_edges(edge_index, edge_flow, edge_position)
        plan = build_relation_plan(edge_index, relation, position, x.size(0),
                                   num_relations=self.num_relations,
                                   num_positions=self.convs[0].num_positions if self.convs
                                   else 1,
                                   node_key=node_key, num_keys=keys.numel(), dtype=x.dtype)
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            if index == 0:
                update = conv.forward_per_key(norm(x_keys), plan)
            else:
                update = conv(norm(x), edge_index, relation, position, plan=plan)
            x = x + F.dropout(F.gelu(update), p=self.dropout, training=self.training)
        return self.final_norm(x)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(node_vocab={self.node_vocab_size}, "
                f"hidden={self.hidden}, layers={len(self.convs)}, "
                f"relations={self.num_relations})")
