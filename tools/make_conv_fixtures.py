#!/usr/bin/env python3
"""Writes tests/data/conv_*.npz: inputs, parameters and outputs of PyTorch Geometric 2.3.1 convolutions.

The gas layer tests (tests/nn/) load these files, copy the parameters into the gas layer and compare its
forward pass with the recorded output. Only this script needs torch and torch_geometric; CI reads the
committed .npz files. Run it from the repository root:

    python3 tools/make_conv_fixtures.py

Every file holds, in float64 (edge_index in int64, [source; target] as in PyG):
  x, edge_index, [edge_weight], <parameters named as in the conv's state_dict>, out,
  and a bipartite case as GAS batches it: bip_rows (the number of output rows), bip_edge_index (the edges
  whose target is below bip_rows), [bip_edge_weight], bip_out (bip_rows output rows).
Edge weights are rounded to float32 before PyG sees them, because gas stores graph weights in float.
"""

import os

import numpy as np
import torch
from torch.nn import Linear as TorchLinear
from torch.nn import ReLU, Sequential
from torch_geometric.nn import APPNP, GATConv, GCN2Conv, GCNConv, GINConv, PNAConv, SAGEConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import add_remaining_self_loops, degree

N = 12          # nodes; node 11 is isolated, node 3 has a self-loop
ROWS = 7        # output rows of the bipartite (batch x all nodes) case
F_IN = 5
F_OUT = 4
OUT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))


def base_graph():
    """A symmetric random graph on nodes 0..10, a self-loop at 3, node 11 isolated."""
    gen = np.random.default_rng(7)
    pairs = set()
    while len(pairs) < 16:
        a, b = gen.integers(0, N - 1, size=2)
        if a != b:
            pairs.add((int(min(a, b)), int(max(a, b))))
    src, dst = [], []
    for a, b in sorted(pairs):
        src += [a, b]
        dst += [b, a]
    src.append(3)
    dst.append(3)
    return torch.tensor([src, dst], dtype=torch.int64)


def as_float32(w):
    return w.to(torch.float32).to(torch.float64)


def normalized(edge_index):
    """GCN normalization with self-loops over the whole graph, weights rounded to float32."""
    ei, w = gcn_norm(edge_index, None, N, improved=False, add_self_loops=True, dtype=torch.float64)
    return ei, as_float32(w)


def bipartite(edge_index, weight=None):
    keep = edge_index[1] < ROWS
    return edge_index[:, keep], (None if weight is None else weight[keep])


def save(name, conv, tensors):
    arrays = {k: v.detach().numpy().astype(np.float64) for k, v in conv.state_dict().items()
              if v.is_floating_point()}
    for k, v in tensors.items():
        if isinstance(v, torch.Tensor):
            v = v.detach().numpy()
        arrays[k] = np.asarray(v, dtype=np.int64 if k.endswith("edge_index") or k == "bip_rows" else np.float64)
    path = os.path.join(OUT_DIR, f"conv_{name}.npz")
    np.savez(path, **arrays)
    print(f"{path}: {sorted(arrays)}")


def randomize(conv, seed):
    """Replaces zero-initialized parameters (biases, eps) by random values so the test sees their effect."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in conv.parameters():
            if bool((p == 0).all()):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen, dtype=p.dtype))


def main():
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    ei = base_graph()
    x = torch.randn(N, F_IN)
    norm_ei, norm_w = normalized(ei)
    bip_norm_ei, bip_norm_w = bipartite(norm_ei, norm_w)

    # GCNConv as GAS runs it: normalization done once over the whole graph, normalize=False in the conv.
    conv = GCNConv(F_IN, F_OUT, normalize=False)
    randomize(conv, 1)
    save("gcn", conv, {
        "x": x, "edge_index": norm_ei, "edge_weight": norm_w, "out": conv(x, norm_ei, norm_w),
        "bip_rows": ROWS, "bip_edge_index": bip_norm_ei, "bip_edge_weight": bip_norm_w,
        "bip_out": conv(x, bip_norm_ei, bip_norm_w)[:ROWS]})

    # GATConv: self-loops in the graph beforehand (one per node), none added by the conv.
    loop_ei, _ = add_remaining_self_loops(ei, num_nodes=N)
    bip_loop_ei, _ = bipartite(loop_ei)
    for concat in (True, False):
        conv = GATConv(F_IN, F_OUT, heads=2, concat=concat, negative_slope=0.2, dropout=0.0,
                       add_self_loops=False)
        randomize(conv, 2)
        conv.eval()
        save("gat_concat" if concat else "gat_mean", conv, {
            "x": x, "edge_index": loop_ei, "out": conv(x, loop_ei),
            "bip_rows": ROWS, "bip_edge_index": bip_loop_ei, "bip_out": conv((x, x[:ROWS]), bip_loop_ei)})

    # GCN2Conv: channels in = out; x0 is the initial representation.
    h = torch.randn(N, F_OUT)
    h0 = torch.randn(N, F_OUT)
    for shared in (True, False):
        conv = GCN2Conv(F_OUT, alpha=0.1, theta=0.5, layer=2, shared_weights=shared, normalize=False)
        save("gcn2_shared" if shared else "gcn2_separate", conv, {
            "x": h, "x0": h0, "edge_index": norm_ei, "edge_weight": norm_w, "out": conv(h, h0, norm_ei, norm_w),
            "bip_rows": ROWS, "bip_edge_index": bip_norm_ei, "bip_edge_weight": bip_norm_w,
            "bip_out": conv(h, h0, bip_norm_ei, bip_norm_w)[:ROWS]})

    # GINConv with a trainable eps and nn = Linear-ReLU-Linear; sums unweighted neighbors.
    bip_ei, _ = bipartite(ei)
    conv = GINConv(Sequential(TorchLinear(F_IN, 8), ReLU(), TorchLinear(8, F_OUT)), train_eps=True)
    with torch.no_grad():
        conv.eps.fill_(0.3)
    save("gin", conv, {
        "x": x, "edge_index": ei, "out": conv(x, ei),
        "bip_rows": ROWS, "bip_edge_index": bip_ei, "bip_out": conv((x, x[:ROWS]), bip_ei)})

    # PNAConv: in-degree histogram of the whole graph, one tower, one pre and one post layer.
    in_deg = degree(ei[1], num_nodes=N, dtype=torch.int64)
    hist = torch.bincount(in_deg)
    conv = PNAConv(F_IN, F_OUT, aggregators=["sum", "mean", "max"],
                   scalers=["identity", "amplification", "attenuation"], deg=hist, towers=1,
                   pre_layers=1, post_layers=1, divide_input=False, edge_dim=None)
    save("pna", conv, {
        "x": x, "edge_index": ei, "out": conv(x, ei), "deg_histogram": hist.to(torch.float64),
        "avg_deg_log": conv.aggr_module.init_avg_deg_log,
        "bip_rows": ROWS, "bip_edge_index": bip_ei, "bip_out": conv(x, bip_ei)[:ROWS]})

    # SAGEConv with mean aggregation: lin_l on the neighbor mean, lin_r on the root.
    conv = SAGEConv(F_IN, F_OUT, aggr="mean")
    save("sage", conv, {
        "x": x, "edge_index": ei, "out": conv(x, ei),
        "bip_rows": ROWS, "bip_edge_index": bip_ei, "bip_out": conv((x, x[:ROWS]), bip_ei)})

    # APPNP propagation over pre-normalized weights (no parameters).
    prop = APPNP(K=3, alpha=0.1, normalize=False)
    h = torch.randn(N, F_OUT)
    save("appnp", prop, {"x": h, "edge_index": norm_ei, "edge_weight": norm_w, "out": prop(h, norm_ei, norm_w)})


if __name__ == "__main__":
    main()
