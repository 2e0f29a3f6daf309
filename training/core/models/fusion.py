"""Pools each modality to one vector and fuses them into the program embedding."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import global_max_pool, global_mean_pool

from ..model_config import FUSIONS

__all__ = ["FusionGates", "ModalityFusion", "pool_windows", "text_counts"]


def text_counts(node_text: torch.Tensor, node_batch: torch.Tensor, num_graphs: int,
                vocab_size: int) -> torch.Tensor:
    """``[num_graphs, vocab_size]`` float: how many nodes of each graph carry each node text;
    ids outside ``[0, vocab_size)`` (the [MASK] slot) are not counted."""
    known = (node_text >= 0) & (node_text < vocab_size)
    index = node_batch[known] * vocab_size + node_text[known]
    counts = torch.bincount(index, minlength=num_graphs * vocab_size)
    return counts.view(num_graphs, vocab_size).float()


def pool_windows(features: torch.Tensor, lengths: torch.Tensor, window_program: torch.Tensor,
                 num_programs: int) -> torch.Tensor:
    """Per program, the mean of its windows' features weighted by their lengths.

    Shapes:
        - features: ``[W, F]``; lengths: ``[W]`` real tokens of each window
        - window_program: ``[W]`` program index of each window
        - output: ``[num_programs, F]``
    """
    weights = lengths.to(features.dtype)
    summed = features.new_zeros(num_programs, features.size(1)).index_add_(
        0, window_program, features * weights[:, None])
    total = weights.new_zeros(num_programs).index_add_(0, window_program, weights)
    return summed / total.clamp(min=1.0)[:, None]


class FusionGates(nn.Module):
    """Per-coordinate weights ``[D]`` of the three terms of the ``residual_gated`` and
    ``residual_sparse`` sums (the latter applies them through relu), all starting at 1 (so the
    untrained model is the ``residual_raw`` one): what the objectives on the fused vector do
    not need of a term, they can scale out of the fused vector alone, while the term's own
    view vector stays as its objectives want it."""

    def __init__(self, fusion_dim: int):
        super().__init__()
        self.tokens = nn.Parameter(torch.ones(fusion_dim))
        self.graph = nn.Parameter(torch.ones(fusion_dim))
        self.mixed = nn.Parameter(torch.ones(fusion_dim))


class ModalityFusion(nn.Module):
    """Token states → [CLS; masked mean] → D; node states → [mean; max] → D; both → fused D.

    The per-modality vectors are kept (same size ``D`` as the fused one) so that consumers can
    pick ``tokens``, ``graph`` or ``fused``.

    Whole programs: when a program's tokens come as several windows (``window_program``
    gives each token row's program), the windows' ``[CLS; masked mean]`` features are
    averaged weighted by window length before the projection. The mean half is then exactly
    the mean of every token state of the program; the [CLS] half the length-weighted mean of
    the windows' [CLS] states. One window gives the single-window result.

    Shapes:
        - token_states: ``[B, L, d_model]`` (``[W, L, d_model]`` with windows);
          attention_mask: the same without the last dimension, bool
        - node_states: ``[N, hidden]``; node_batch: ``[N]`` graph index of each node
        - output: three ``[B, D]`` tensors (tokens, graph, fused)

    Graph readout: ``[mean; max]`` of the node states, both blind to how many nodes there
    are; with ``graph_size`` a third part ``log1p(node count) / 8`` (about 1 at 2,000 nodes)
    lets the graph vector carry the program's size.

    With ``text_counts = V`` (the node-text vocabulary size) the graph vector also gets
    ``W log1p(c)``, ``c`` the ``[V]`` counts of each node text among the graph's nodes (ids
    ``>= V``, the [MASK] slot, are not counted): a sum-pooled bag of node texts, which message
    passing, LayerNorms and mean/max pooling can only approximate. A coordinate can then follow
    a node text's log count exactly on programs of any corpus; the untrained twin reads the
    same counts through a random ``W``, i.e. in a random basis. With ``loop_text_counts = V``
    as well, a second map ``W_loop log1p(c_loop)`` counts only the nodes on a control-flow
    cycle (``node_in_loop``): what runs in the program's loops, the static proxy of its dynamic
    instruction mix (the loop-opcode-histogram control). With ``loop_text_counts`` alone
    (``text_counts = 0``) only the loop map is added.

    Fusion (``mode``): ``mlp`` gives ``LN(MLP([tokens; graph]))``; ``residual`` gives
    ``LN(tokens + graph + MLP([tokens; graph]))``, so that what either view's vector carries
    stays linearly readable in the fused one (with ``mlp`` the objectives on the fused vector
    decide what of the graph view survives the bottleneck); ``residual_raw`` gives
    ``tokens + graph + MLP([tokens; graph])``; ``residual_gated`` gives
    ``g_t * tokens + g_g * graph + g_m * MLP([tokens; graph])`` with per-coordinate gates
    (:class:`FusionGates`) that start at 1: the untrained model equals the ``residual_raw`` one,
    and training can scale out of the fused vector a view's part that its objectives do not
    want there, which with fixed unit weights only the view's own objectives could.
    ``residual_sparse`` (with a counting readout) gives ``relu(g_t) * tokens + graph +
    relu(g_m) * MLP([tokens; graph])`` where the graph vector is ``relu(g_g) * graph_proj(...)``
    plus the counting terms plus ``w_size log1p(node count)`` (``size_count_proj``, zero at
    initialisation): the untrained model again equals the ``residual_raw`` one, and a gate
    driven below 0 is exactly 0, so the fused vector can become a linear map of the log node
    count and the counts alone, with nothing else left to reorder programs. With ``residual``
    a final LayerNorm standardises each program's vector over its own coordinates, so no fused
    coordinate can follow a property (a log count, the log node count) on its own scale: the
    program's mean and spread over its coordinates, which carry its size, are divided out of
    all of them. Without it, a coordinate is what the MLP makes it.
    """

    def __init__(self, token_dim: int, graph_dim: int, fusion_dim: int, mode: str = "mlp",
                 graph_size: bool = False, text_counts: int = 0, loop_text_counts: int = 0):
        super().__init__()
        if mode not in FUSIONS:
            raise ValueError(f"fusion mode must be one of {', '.join(FUSIONS)}, not {mode!r}")
        self.fusion_dim = fusion_dim
        self.mode = mode
        self.graph_size = graph_size
        self.text_counts = text_counts
        self.loop_text_counts = loop_text_counts
        self.token_proj = nn.Sequential(nn.Linear(2 * token_dim, fusion_dim),
                                        nn.LayerNorm(fusion_dim))
        self.graph_proj = nn.Sequential(nn.Linear(2 * graph_dim + graph_size, fusion_dim),
                                        nn.LayerNorm(fusion_dim))
        if text_counts:
            self.count_proj = nn.Linear(text_counts, fusion_dim)
        if loop_text_counts:
            self.loop_count_proj = nn.Linear(loop_text_counts, fusion_dim)
        mlp = [nn.Linear(2 * fusion_dim, fusion_dim), nn.GELU(), nn.Linear(fusion_dim, fusion_dim)]
        if mode == "mlp":  # the norm inside the MLP: the state-dict names of older packages
            self.fuse = nn.Sequential(*mlp, nn.LayerNorm(fusion_dim))
        else:
            self.fuse = nn.Sequential(*mlp)
        if mode == "residual":
            self.fuse_norm = nn.LayerNorm(fusion_dim)
        if mode in ("residual_gated", "residual_sparse"):
            self.gates = FusionGates(fusion_dim)
        if mode == "residual_sparse":
            if not (text_counts or loop_text_counts):
                raise ValueError("fusion mode residual_sparse needs a counting readout")
            self.size_count_proj = nn.Linear(1, fusion_dim, bias=False)
            nn.init.zeros_(self.size_count_proj.weight)  # the untrained model: residual_raw's

    def forward(self, token_states: torch.Tensor, attention_mask: torch.Tensor,
                node_states: torch.Tensor, node_batch: torch.Tensor, num_graphs: int,
                window_program: torch.Tensor | None = None,
                node_text: torch.Tensor | None = None,
                node_in_loop: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        tokens = self.pool_tokens(token_states, attention_mask, window_program, num_graphs)
        graph = self.pool_graph(node_states, node_batch, num_graphs, node_text, node_in_loop)
        return tokens, graph, self.fuse_vectors(tokens, graph)

    def pool_tokens(self, token_states: torch.Tensor, attention_mask: torch.Tensor,
                    window_program: torch.Tensor | None = None,
                    num_programs: int | None = None) -> torch.Tensor:
        """The token-view vectors ``[B, D]``: ``[CLS; masked mean]`` (over each program's
        windows when ``window_program`` is given) projected."""
        mask = attention_mask.unsqueeze(-1).to(token_states.dtype)
        lengths = mask.sum(1)
        mean = (token_states * mask).sum(1) / lengths.clamp(min=1.0)
        features = torch.cat([token_states[:, 0], mean], dim=-1)
        if window_program is not None:
            if num_programs is None:
                num_programs = int(window_program.max()) + 1 if window_program.numel() else 0
            features = pool_windows(features, lengths.squeeze(-1), window_program, num_programs)
        return self.token_proj(features)

    def pool_graph(self, node_states: torch.Tensor, node_batch: torch.Tensor,
                   num_graphs: int, node_text: torch.Tensor | None = None,
                   node_in_loop: torch.Tensor | None = None) -> torch.Tensor:
        """The graph-view vectors ``[B, D]``: ``[mean; max]`` (and the log node count, with
        ``graph_size``) over each graph's nodes, projected; plus the counting readout of the
        node texts (``node_text``: ``[N]`` long, needed with ``text_counts``) and of those of
        the nodes in loops (``node_in_loop``: ``[N]`` bool, needed with ``loop_text_counts``)."""
        parts = [global_mean_pool(node_states, node_batch, num_graphs),
                 global_max_pool(node_states, node_batch, num_graphs)]
        log_nodes = torch.log1p(torch.bincount(node_batch, minlength=num_graphs)
                                .to(node_states.dtype))[:, None]
        if self.graph_size:
            parts.append(log_nodes / 8.0)
        graph = self.graph_proj(torch.cat(parts, dim=-1))
        if self.mode == "residual_sparse":
            graph = torch.relu(self.gates.graph) * graph + self.size_count_proj(log_nodes)
        if not (self.text_counts or self.loop_text_counts):
            return graph
        if node_text is None:
            raise ValueError("this readout counts node texts: pass node_text")
        if self.text_counts:
            counts = text_counts(node_text, node_batch, num_graphs, self.text_counts)
            graph = graph + self.count_proj(torch.log1p(counts).to(graph.dtype))
        if not self.loop_text_counts:
            return graph
        if node_in_loop is None:
            raise ValueError("this readout counts the node texts in loops: pass node_in_loop")
        loop_counts = text_counts(node_text[node_in_loop], node_batch[node_in_loop], num_graphs,
                                  self.loop_text_counts)
        return graph + self.loop_count_proj(torch.log1p(loop_counts).to(graph.dtype))

    def fuse_vectors(self, tokens: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        """The fused vectors ``[B, D]`` of paired token-view and graph-view vectors."""
        mixed = self.fuse(torch.cat([tokens, graph], dim=-1))
        if self.mode == "mlp":
            return mixed
        if self.mode == "residual_raw":
            return tokens + graph + mixed
        if self.mode == "residual_gated":
            gates = self.gates
            return gates.tokens * tokens + gates.graph * graph + gates.mixed * mixed
        if self.mode == "residual_sparse":  # the graph gate acts inside pool_graph
            gates = self.gates
            return torch.relu(gates.tokens) * tokens + graph + torch.relu(gates.mixed) * mixed
        return self.fuse_norm(tokens + graph + mixed)
