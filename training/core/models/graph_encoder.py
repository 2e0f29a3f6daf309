"""Relational GNN over the ProGraML-style graph: node text + type in, node states out."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ....pipelines.ir.program_graph import FLOW_CONTROL, FLOWS, NODE_TYPES
from .flow_position_conv import FlowPositionConv
from .relation_plan import build_relation_plan

__all__ = ["GraphEncoder", "add_reverse_edges", "straight_line_blocks"]


def straight_line_blocks(edge_index: torch.Tensor, edge_flow: torch.Tensor,
                         num_nodes: int) -> torch.Tensor:
    """``[num_nodes]`` long: the block of each node, named by its first node.

    A block is a maximal chain of control edges ``u -> v`` where ``u`` has one control
    successor and ``v`` one control predecessor (a basic block, or several merged where one
    only falls into the next); every node of a block lies on the same control-flow cycles.
    Nodes without such edges (variables, constants) are blocks of one. Found by pointer
    jumping (``log2 N`` gathers), so it runs inside the encoder on any batch of graphs.
    """
    control = edge_flow == FLOW_CONTROL
    src, dst = edge_index[0, control], edge_index[1, control]
    ones = torch.ones_like(src)
    out_degree = torch.zeros(num_nodes, dtype=torch.long, device=src.device).scatter_add_(
        0, src, ones)
    in_degree = torch.zeros(num_nodes, dtype=torch.long, device=src.device).scatter_add_(
        0, dst, ones)
    chained = (out_degree[src] == 1) & (in_degree[dst] == 1) & (src != dst)
    first = torch.arange(num_nodes, device=src.device)
    first = first.scatter(0, dst[chained], src[chained])  # each node's chain predecessor
    for _ in range(max(1, int(num_nodes).bit_length())):  # no data-dependent exit: compiles
        first = first[first]
    return first


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
        block_pooling: each layer also adds, to every node, a projection of the mean state of
            its straight-line block (:func:`straight_line_blocks`), so that what the block's
            phis and branch say (a loop header, a latch) reaches every instruction of a long
            block in one hop instead of one hop per instruction.

    Shapes:
        - node_text, node_type: ``[N]`` long; edge_index: ``[2, E]``; edge_flow,
          edge_position: ``[E]`` long
        - output: ``[N, hidden]`` node states
    """

    # Take :meth:`_forward_inference` without gradients (set by
    # MIREncoder.use_fast_inference; off by default).
    fast_inference = False

    def __init__(self, *, node_vocab_size: int, hidden: int, layers: int, num_positions: int,
                 dropout: float, block_pooling: bool = False):
        super().__init__()
        self.node_vocab_size, self.hidden = node_vocab_size, hidden
        self.mask_id = node_vocab_size
        self.node_text = nn.Embedding(node_vocab_size + 1, hidden)
        self.node_type = nn.Embedding(len(NODE_TYPES), hidden)
        self.num_relations = 2 * len(FLOWS)
        self.convs = nn.ModuleList(FlowPositionConv(hidden, hidden, self.num_relations,
                                                    num_positions) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.block_pooling = block_pooling
        self.block_projections = nn.ModuleList(
            nn.Linear(hidden, hidden) for _ in range(layers if block_pooling else 0))
        self.final_norm = nn.LayerNorm(hidden)
        self.dropout = dropout
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.node_text.weight, std=0.02)
        nn.init.normal_(self.node_type.weight, std=0.02)
        for conv in self.convs:
            conv.reset_parameters()
        for projection in self.block_projections:
            projection.reset_parameters()

    def _blocks(self, edge_index: torch.Tensor, edge_flow: torch.Tensor, num_nodes: int
                ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(block of each node, node count per block)`` when block pooling is on."""
        if not self.block_pooling:
            return None
        block = straight_line_blocks(edge_index, edge_flow, num_nodes)
        size = torch.zeros(num_nodes, device=block.device).index_add_(
            0, block, torch.ones(num_nodes, device=block.device))
        return block, size

    def _block_update(self, index: int, h: torch.Tensor,
                      blocks: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Layer ``index``'s message from each node's block mean."""
        block, size = blocks
        total = torch.zeros_like(h).index_add_(0, block, h)
        mean = total / size.clamp(min=1.0).unsqueeze(1).to(h.dtype)
        return self.block_projections[index](mean.index_select(0, block))

    def forward(self, node_text: torch.Tensor, node_type: torch.Tensor,
                edge_index: torch.Tensor, edge_flow: torch.Tensor,
                edge_position: torch.Tensor) -> torch.Tensor:
        if self.fast_inference and not torch.is_grad_enabled():
            return self._forward_inference(node_text, node_type, edge_index, edge_flow,
                                           edge_position)
        x = self.node_text(node_text) + self.node_type(node_type)
        blocks = self._blocks(edge_index, edge_flow, x.size(0))
        edge_index, relation, position = add_reverse_edges(edge_index, edge_flow, edge_position)
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            h = norm(x)
            update = conv(h, edge_index, relation, position)
            if blocks is not None:
                update = update + self._block_update(index, h, blocks)
            x = x + F.dropout(F.gelu(update), p=self.dropout, training=self.training)
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
        blocks = self._blocks(edge_index, edge_flow, x.size(0))
        edge_index, relation, position = add_reverse_edges(edge_index, edge_flow, edge_position)
        plan = build_relation_plan(edge_index, relation, position, x.size(0),
                                   num_relations=self.num_relations,
                                   num_positions=self.convs[0].num_positions if self.convs
                                   else 1,
                                   node_key=node_key, num_keys=keys.numel(), dtype=x.dtype)
        for index, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            h = norm(x) if index > 0 or blocks is not None else None
            if index == 0:
                update = conv.forward_per_key(norm(x_keys), plan)
            else:
                update = conv(h, edge_index, relation, position, plan=plan)
            if blocks is not None:
                update = update + self._block_update(index, h, blocks)
            x = x + F.dropout(F.gelu(update), p=self.dropout, training=self.training)
        return self.final_norm(x)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(node_vocab={self.node_vocab_size}, "
                f"hidden={self.hidden}, layers={len(self.convs)}, "
                f"relations={self.num_relations}, block_pooling={self.block_pooling})")
