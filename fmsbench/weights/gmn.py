"""Graph metanetwork (GMN): edge-and-node message passing over parameter graphs, mean readout.

Implements the graph metanetwork of "Graph Metanetworks for Processing Diverse Neural Architectures" (Lim et
al., ICLR 2024, https://arxiv.org/abs/2312.04501), the weight encoder of FMS ("Improving Hyperparameter
Optimization with Checkpointed Model Weights", Mehta et al. 2024, https://arxiv.org/abs/2406.18630). Each layer
is a graph-network block (Battaglia et al. 2018, https://arxiv.org/abs/1806.01261) that updates edges from their
endpoints and then nodes from messages along incoming and outgoing edges. Every operation is a per-node or
per-edge map or a mean over neighbours/graph, so the output is invariant to any relabelling of the nodes, and
hence to the function-preserving neuron permutations of the network the graph describes.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MessagePassing, global_mean_pool
from torch_geometric.nn.inits import reset
from torch_geometric.utils import scatter

from fmsbench.weights.base import FEATURIZERS, OUT_DIM, WeightFeaturizer
from fmsbench.weights.features import EDGE_DIM, NODE_DIM, EdgeType, NodeType
from fmsbench.weights.structure import DEFAULT_MAX_FAN_IN, ParameterGraph, parameter_graph


def _mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class GMNConv(MessagePassing):
    r"""One edge-and-node update of a graph metanetwork.

    .. math::
        \mathbf{e}'_{ij} &= \mathrm{LN}\big(\mathbf{e}_{ij} + \phi_e([\mathbf{h}_i, \mathbf{h}_j,
            \mathbf{e}_{ij}])\big) \\
        \mathbf{m}_i &= \operatorname{mean}_{(j, d) \in \mathcal{N}(i)} \phi_m([\mathbf{h}_i, \mathbf{h}_j,
            \mathbf{e}'_{ij} + \mathbf{u}_d]) \\
        \mathbf{h}'_i &= \mathrm{LN}\big(\mathbf{h}_i + \phi_h([\mathbf{h}_i, \mathbf{m}_i])\big)

    where :math:`\mathcal{N}(i)` holds the neighbours along incoming (:math:`d = 0`) and outgoing
    (:math:`d = 1`) edges, :math:`\mathbf{u}_d` is a learned direction embedding, :math:`\phi` are 2-layer
    ReLU MLPs and LN is LayerNorm.

    Evaluated in factored form, the same function with about a quarter of the per-edge work: the first layer
    of :math:`\phi_e` and :math:`\phi_m` is split by input block, so the node blocks are projected once per
    node (:math:`\mathbf{a}_i = W_1^{(1)} \mathbf{h}_i + \mathbf{b}_1`, :math:`\mathbf{b}_j = W_1^{(2)}
    \mathbf{h}_j`) and only gathered per edge; and the last, linear layer of :math:`\phi_m` moves behind the
    mean, :math:`\mathbf{m}_i = W_2 \operatorname{mean}(\mathrm{ReLU}(\cdot)) + \mathbf{b}_2` (zero for a
    node without neighbours, as the mean of nothing).

    Args:
        channels (int): size of node and edge features (in and out).

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`, edge indices :math:`(2, |\mathcal{E}|)`,
          edge features :math:`(|\mathcal{E}|, F)`
        - **output:** node features :math:`(|\mathcal{V}|, F)`, edge features :math:`(|\mathcal{E}|, F)`
    """

    def __init__(self, channels: int) -> None:
        super().__init__(aggr="mean")
        self.channels = channels
        self.edge_mlp = _mlp(3 * channels, channels, channels)
        self.message_mlp = _mlp(3 * channels, channels, channels)
        self.node_mlp = _mlp(2 * channels, channels, channels)
        self.direction = nn.Embedding(2, channels)
        self.edge_norm = nn.LayerNorm(channels)
        self.node_norm = nn.LayerNorm(channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for module in (self.edge_mlp, self.message_mlp, self.node_mlp, self.direction, self.edge_norm,
                       self.node_norm):
            reset(module)

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> tuple[Tensor, Tensor]:
        if x.shape[-1] != self.channels or edge_attr.shape[-1] != self.channels:
            raise ValueError(f"GMNConv expects {self.channels} node and edge channels, got {x.shape[-1]} and "
                             f"{edge_attr.shape[-1]}; encode the features to {self.channels} first")
        a, b, e = self._split_first_layer(self.edge_mlp[0], x, edge_attr)
        edge_attr = self.edge_norm(edge_attr + self.edge_updater(edge_index, a=a, b=b, e=e))
        a, b, e = self._split_first_layer(self.message_mlp[0], x, edge_attr)
        u = nn.functional.linear(self.direction.weight, self.message_mlp[0].weight[:, 2 * self.channels:])
        both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
        mean = self.propagate(both, a=a, b=b, e=torch.cat([e + u[0], e + u[1]]))
        has_neighbours = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device).index_fill_(0, both[1], 1.0)
        messages = self.message_mlp[2](mean) - (1 - has_neighbours) * self.message_mlp[2].bias
        x = self.node_norm(x + self.node_mlp(torch.cat([x, messages], dim=-1)))
        return x, edge_attr

    def _split_first_layer(self, layer: nn.Linear, x: Tensor, edge_attr: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """W [h_i; h_j; e] + c as (W_i h + c per node, W_j h per node, W_e e per edge)."""
        c = self.channels
        return (nn.functional.linear(x, layer.weight[:, :c], layer.bias),
                nn.functional.linear(x, layer.weight[:, c:2 * c]),
                nn.functional.linear(edge_attr, layer.weight[:, 2 * c:]))

    def edge_update(self, a_i: Tensor, b_j: Tensor, e: Tensor) -> Tensor:
        return self.edge_mlp[2]((a_i + b_j).add_(e).relu_())  # in place: no extra [E, F] buffers

    def message(self, a_i: Tensor, b_j: Tensor, e: Tensor) -> Tensor:
        return (a_i + b_j).add_(e).relu_()

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels})"


class GMN(nn.Module):
    r"""Graph metanetwork: typed feature encoders, a stack of `GMNConv`, mean readout, MLP head.

    .. math::
        \mathbf{z} = \psi\big([\operatorname{mean}_{i} \mathbf{h}^{(L)}_i,\;
            (\operatorname{mean}_{i: \mathrm{type}(i) = t} \mathbf{h}^{(L)}_i)_{t},\;
            \operatorname{mean}_{(i,j)} \mathbf{e}^{(L)}_{ij}]\big)

    (the per-type means, zero for a type the graph lacks, let input and output channels, which are not
    interchangeable, weigh as much as the many hidden ones)

    with :math:`\mathbf{h}^{(0)}_i = W_v \mathbf{x}_i + \mathbf{t}_{\mathrm{type}(i)}` and
    :math:`\mathbf{e}^{(0)}_{ij} = W_e \mathbf{a}_{ij} + \mathbf{s}_{\mathrm{type}(ij)}`.

    Args:
        hidden (int, optional): node/edge feature size. (default: :obj:`32`)
        num_layers (int, optional): number of `GMNConv` layers. (default: :obj:`3`)
        out_dim (int, optional): output size. (default: :obj:`32`)
        edge_readout (bool, optional): also average the edge features in the readout. (default: :obj:`True`)

    Shapes:
        - **input:** a torch_geometric ``Batch`` of filled parameter graphs (``x`` :math:`(|\mathcal{V}|, 21)`,
          ``edge_attr`` :math:`(|\mathcal{E}|, 14)`, ``node_type``, ``edge_type``)
        - **output:** :math:`(B, \text{out\_dim})`
    """

    def __init__(self, hidden: int = 32, num_layers: int = 3, out_dim: int = OUT_DIM,
                 edge_readout: bool = True) -> None:
        super().__init__()
        self.edge_readout = edge_readout
        self.node_encoder = nn.Linear(NODE_DIM, hidden)
        self.edge_encoder = nn.Linear(EDGE_DIM, hidden)
        self.node_type = nn.Embedding(len(NodeType), hidden)
        self.edge_type = nn.Embedding(len(EdgeType), hidden)
        self.convs = nn.ModuleList([GMNConv(hidden) for _ in range(num_layers)])
        self.head = _mlp((len(NodeType) + 2 if edge_readout else len(NodeType) + 1) * hidden, hidden, out_dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Default inits, except type embeddings drawn with std 0.1 so the weight features dominate at first."""
        for module in (self.node_encoder, self.edge_encoder, *self.convs, self.head):
            reset(module)
        for embedding in (self.node_type, self.edge_type):
            nn.init.normal_(embedding.weight, std=0.1)

    def forward(self, batch: Batch) -> Tensor:
        x = self.node_encoder(batch.x) + self.node_type(batch.node_type)
        edge_attr = self.edge_encoder(batch.edge_attr) + self.edge_type(batch.edge_type)
        for conv in self.convs:
            x, edge_attr = conv(x, batch.edge_index, edge_attr)
        types = len(NodeType)
        by_type = batch.batch * types + batch.node_type
        pooled = [global_mean_pool(x, batch.batch, size=batch.num_graphs),
                  scatter(x, by_type, dim=0, dim_size=batch.num_graphs * types, reduce="mean").view(batch.num_graphs, -1)]
        if self.edge_readout:
            edge_graph = batch.batch[batch.edge_index[0]]
            pooled.append(scatter(edge_attr, edge_graph, dim=0, dim_size=batch.num_graphs, reduce="mean"))
        return self.head(torch.cat(pooled, dim=-1))


# The GMN of FMS on a CPU budget: 2 layers of width 16 over parameter graphs that keep the 4 strongest incoming
# edges per node. Trained jointly with the GP at every Adam step, a metanetwork pass per checkpoint is the whole cost
# of FMS over DyHPO; at the featurizer's own defaults (3 x 32, 16 edges per node) fms-gmn was more than 100 times
# slower than dyhpo (benchmarks/bench_replay.py).
FMS_SIZE = {"hidden": 16, "num_layers": 2, "max_fan_in": 4}


@FEATURIZERS.register("gmn", summary="a graph-metanetwork (GMN) embedding of the checkpointed weights (Mehta et al. 2024)",
                      options=FMS_SIZE)
class GMNFeaturizer(WeightFeaturizer):
    """Checkpoints -> parameter graphs (`parameter_graph`, cached per architecture) -> `GMN` -> 32-d.

    Works for any mix of architectures the graph builder supports; invariant to function-preserving
    permutations of hidden neurons.

    Args:
        example_modules (dict[str, nn.Module]): one module per architecture id of the hub.
        hidden (int, optional): GMN width. (default: :obj:`32`)
        num_layers (int, optional): GMN depth. (default: :obj:`3`)
        out_dim (int, optional): output size. (default: :obj:`32`)
        max_fan_in (int, optional): incoming edges kept per node of wide layers. (default: :obj:`16`)
        edge_readout (bool, optional): average edges as well as nodes in the readout. (default: :obj:`True`)
    """

    def __init__(self, example_modules: Mapping[str, nn.Module], *, hidden: int = 32, num_layers: int = 3,
                 out_dim: int = OUT_DIM, max_fan_in: int = DEFAULT_MAX_FAN_IN, edge_readout: bool = True) -> None:
        super().__init__(example_modules, out_dim)
        self.graphs: dict[str, ParameterGraph] = {
            arch: parameter_graph(module, max_fan_in=max_fan_in) for arch, module in example_modules.items()}
        self.gmn = GMN(hidden, num_layers, out_dim, edge_readout)

    def prepare(self, arch_id: str, state_dict: Mapping[str, Tensor]) -> Data:
        self.check_arch(arch_id)
        return self.graphs[arch_id].fill(state_dict)

    def forward(self, prepared: list[Data]) -> Tensor:
        device = self.gmn.node_encoder.weight.device
        if not prepared:
            return torch.zeros(0, self.out_dim, device=device)
        return self.gmn(Batch.from_data_list(prepared).to(device))
