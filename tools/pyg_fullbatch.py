#!/usr/bin/env python3
"""PyG's full-batch baseline for a gas-train result (issue 15): the same model, hyperparameters, splits and seeds,
trained on the whole graph at once, so that docs/results.md can show GAS beside full-batch training.

    python3 -m venv ../pyg-venv && ../pyg-venv/bin/pip install torch torch_geometric scipy numpy
    build/examples/gas-inspect --dataset SPEC --split PROTOCOL --export-splits splits.npz
    ../pyg-venv/bin/python tools/pyg_fullbatch.py --like RESULT.json [--splits splits.npz] [--data FILE_OR_DIR] \\
        [--runs N] [--epochs E] [--seed S] [--threads T] [--quiet] --out OUT.json

Inputs:

  --like RESULT.json  a gas-train JSON. Read from it: "spec" (the dataset), "model" (gcn, gat, appnp or gcnii),
                      "runs", "seed", "metric" (accuracy or roc_auc), "epochs", "split" (the protocol, copied to
                      the output), "run_split" (run r uses split run_split[r]; r when the key is absent; r mod S
                      past the end of the list) and "hyperparameters" (layers, hidden, heads, out_heads, dropout,
                      input_dropout, alpha, theta, batch_norm, residual, epochs, lr, reg_weight_decay,
                      nonreg_weight_decay, grad_clip (0 = none), row_normalize; num_parts, batch_size and
                      max_steps mean nothing to full-batch training and are only copied).
  --splits FILE.npz   bool arrays train_masks, val_masks, test_masks of shape [S, N] (split s = row s; [N] is one
                      split), the layout of the heterophilous-graphs files and of `gas-inspect --export-splits`.
                      Default: the masks stored in the data file (heterophilous npz, Planetoid's public split).
  --data PATH         the dataset as gas-train read it; default: the JSON's spec without its `npz:` or
                      `planetoid:` prefix (a relative path is tried from here, beside the JSON and from the
                      repository root). Read: gnn-benchmark npz (adj_* CSR parts; attr_* CSR parts or a dense
                      attr_matrix; labels), heterophilous npz (node_features, node_labels, edges [E, 2]) and a
                      Planetoid directory (ind.NAME.*). As gas loads graphs: stored zeros are not edges, the
                      adjacency is symmetrised, self-loops and duplicate edges dropped.
  --runs N            train runs 0..N-1 instead of the JSON's runs; --epochs E and --seed S replace the JSON's
                      epochs and seed (shorter checks; the output records what ran).
  --threads T         torch.set_num_threads(T) (and OMP_NUM_THREADS); default: the JSON's "threads" or 1.

What runs (rusty1s/pyg_autoscale's small_benchmark/main.py and torch_geometric_autoscale/models, the full-batch
forward of each model): run r seeds torch.manual_seed(seed + r), builds the model, trains `epochs` full-batch
steps (forward, cross-entropy on the training nodes, backward, gradient-norm clipping when grad_clip > 0, Adam
step) and after each step evaluates the whole graph in eval mode; the reported test metric is the one at the best
validation metric (strictly better, so the first best epoch wins). Adam has two weight-decay groups, as the
reference's reg_modules / nonreg_modules:

  gcn    [dropout(input_dropout)] -> per hidden layer: GCNConv, [BatchNorm], [residual], ReLU, dropout -> GCNConv.
         reg: the hidden convolutions and norms; nonreg: the last convolution.
  gat    per layer: dropout -> GATConv(hidden, heads, concat, attention dropout) -> ELU; last layer: dropout ->
         GATConv(classes, out_heads, mean). Self-loops added to the graph. reg: every convolution (the
         reference's GAT has no nonreg module, nor has gas's).
  appnp  dropout -> Linear -> ReLU -> dropout -> Linear -> APPNP(K=layers, alpha). reg: the first Linear;
         nonreg: the second.
  gcnii  dropout -> x0 = ReLU(Linear) -> dropout -> per layer: GCN2Conv(alpha, theta, layer=l+1,
         shared_weights), [BatchNorm], [residual], ReLU, dropout -> Linear. reg: convolutions and norms;
         nonreg: the Linears.

GCN, APPNP and GCNII propagate with gcn_norm(A + I) computed once (convolutions with normalize=False, as the
reference), on a torch.sparse_csr adjacency. Features are divided by their row sums when row_normalize is true
(rows summing to 0 unchanged, as gas). Metrics: accuracy of the argmax, or ROC-AUC of the softmax probability of
class 1 (two classes only; ties get average ranks), both in percent. Epoch time = median over every epoch of every
run of the training step alone (evaluation excluded), as gas-train's epoch_seconds_median.

Output (--out): {"library": "pyg", "torch", "torch_geometric", "dataset", "spec", "data", "splits", "split",
"model", "metric", "runs", "seed", "epochs", "test" [percent per run], "val", "best_epoch" (1-based), "test_mean",
"test_std" (sample std; 0 for one run), "val_mean", "epoch_seconds_median", "train_seconds", "threads",
"run_split", "hyperparameters" (copied from the JSON)}. One line per run and a summary line go to stdout.
Needs numpy, scipy, torch and torch_geometric; CI never runs it.
"""

import argparse
import json
import math
import os
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve()
REPO = HERE.parent.parent
MODELS = ("gcn", "gat", "appnp", "gcnii")
DEFAULTS = dict(layers=2, hidden=64, heads=8, out_heads=1, dropout=0.5, input_dropout=0.0, alpha=0.1, theta=0.5,
                batch_norm=False, residual=False, lr=0.01, reg_weight_decay=0.0, nonreg_weight_decay=0.0,
                grad_clip=0.0, row_normalize=False)


def fail(message):
    print(f"pyg_fullbatch: {message}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------------------------
# Data: numpy arrays, loaded as gas loads them.

def resolve_path(text, like_path):
    p = pathlib.Path(text).expanduser()
    if p.is_absolute() or p.exists():
        return p
    for base in (like_path.parent, REPO):
        if (base / p).exists():
            return base / p
    return p


def clean_edges(np, n, src, dst):
    """Symmetric, no self-loops, no duplicates; returns edge_index [2, E] sorted by (row, col)."""
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        fail(f"an edge names a node outside [0, {n})")
    keep = src != dst
    src, dst = src[keep], dst[keep]
    row = np.concatenate([src, dst])
    col = np.concatenate([dst, src])
    key = np.unique(row * n + col)
    return np.stack([key // n, key % n])


def read_npz(np, sp, path):
    z = np.load(path, allow_pickle=False)
    keys = set(z.files)
    masks = None
    if {"node_features", "node_labels", "edges"} <= keys:
        x = np.asarray(z["node_features"], dtype=np.float32)
        y = np.asarray(z["node_labels"]).astype(np.int64)
        edges = np.asarray(z["edges"])
        if edges.ndim != 2 or edges.shape[1] != 2:
            fail(f"{path}: 'edges' has shape {edges.shape}, expected [E, 2]")
        edge_index = clean_edges(np, x.shape[0], edges[:, 0], edges[:, 1])
        if {"train_masks", "val_masks", "test_masks"} <= keys:
            masks = tuple(z[k] for k in ("train_masks", "val_masks", "test_masks"))
    elif {"adj_indices", "adj_indptr", "adj_shape"} <= keys:
        def csr(prefix):
            indices = z[prefix + "indices"]
            data = z[prefix + "data"] if prefix + "data" in keys else np.ones(indices.shape[0], dtype=np.float32)
            m = sp.csr_matrix((data, indices, z[prefix + "indptr"]), shape=tuple(int(s) for s in z[prefix + "shape"]))
            m.eliminate_zeros()  # a stored zero is neither an edge nor a feature (gas: `A != 0`)
            return m
        adj = csr("adj_").tocoo()
        n = adj.shape[0]
        if adj.shape[1] != n:
            fail(f"{path}: adjacency is {adj.shape[0]} x {adj.shape[1]}, expected a square matrix")
        edge_index = clean_edges(np, n, adj.row, adj.col)
        if "attr_matrix" in keys:
            x = np.asarray(z["attr_matrix"], dtype=np.float32)
        elif "attr_shape" in keys:
            x = csr("attr_").toarray().astype(np.float32)
        else:
            x = np.zeros((n, 0), dtype=np.float32)
        if "labels" not in keys:
            fail(f"{path}: no 'labels'")
        y = np.asarray(z["labels"]).astype(np.int64)
    else:
        fail(f"{path}: neither the heterophilous layout (node_features/node_labels/edges) nor gnn-benchmark's "
             f"(adj_indices/adj_indptr/adj_shape)")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        fail(f"{path}: labels of shape {y.shape} for {x.shape[0]} nodes")
    if y.size and y.min() < 0:
        fail(f"{path}: negative labels")
    return x, y, edge_index, masks


def read_planetoid(np, path):
    from torch_geometric.io import read_planetoid_data
    names = sorted(p.name[len("ind."):-len(".x")] for p in path.glob("ind.*.x"))
    if len(names) != 1:
        fail(f"{path}: expected one ind.NAME.x file, found {len(names)}")
    d = read_planetoid_data(str(path), names[0])
    x = d.x.numpy().astype(np.float32)
    y = d.y.numpy().astype(np.int64)
    ei = d.edge_index.numpy()
    masks = tuple(m.numpy() for m in (d.train_mask, d.val_mask, d.test_mask))
    return x, y, clean_edges(np, x.shape[0], ei[0], ei[1]), masks


def read_masks(np, path, n):
    z = np.load(path, allow_pickle=False)
    out = []
    for key in ("train_masks", "val_masks", "test_masks"):
        if key not in z.files:
            fail(f"{path}: no '{key}' (expected train_masks, val_masks, test_masks)")
        out.append(z[key])
    return check_masks(np, out, n, str(path))


def check_masks(np, masks, n, source):
    out = []
    for key, m in zip(("train_masks", "val_masks", "test_masks"), masks):
        m = np.asarray(m).astype(bool)
        if m.ndim == 1:
            m = m[None, :]
        if m.ndim != 2 or m.shape[1] != n:
            fail(f"{source}: '{key}' has shape {m.shape}, expected [S, {n}]")
        out.append(m)
    if len({m.shape[0] for m in out}) != 1:
        fail(f"{source}: the masks hold different numbers of splits: {[m.shape[0] for m in out]}")
    return out


def finite(v):
    """NaN and infinities (an empty validation set, one class only in a mask) become null, as in gas's JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite(x) for x in v]
    return v


# ---------------------------------------------------------------------------------------------------------------
# Metrics.

def roc_auc(np, score, positive):
    """Area under the ROC curve by the rank-sum formula (average ranks for ties)."""
    from scipy.stats import rankdata
    n_pos = int(positive.sum())
    n_neg = int(positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


# ---------------------------------------------------------------------------------------------------------------
# Models (the full-batch forward of PyGAS's GCN, GAT, APPNP and GCN2).

def build_model(torch, F, model_name, h, in_dim, classes):
    from torch_geometric.nn import APPNP, GATConv, GCN2Conv, GCNConv
    L, hid, drop = int(h["layers"]), int(h["hidden"]), float(h["dropout"])
    bn_on, res_on = bool(h["batch_norm"]), bool(h["residual"])
    nn = torch.nn

    if model_name == "gcn":
        in_drop = float(h["input_dropout"])

        class GCN(nn.Module):
            def __init__(self):
                super().__init__()
                dims = [in_dim] + [hid] * (L - 1) + [classes]
                self.convs = nn.ModuleList(GCNConv(dims[i], dims[i + 1], normalize=False) for i in range(L))
                self.bns = nn.ModuleList(nn.BatchNorm1d(hid) for _ in range(L - 1))

            def forward(self, x, adj):
                x = F.dropout(x, p=in_drop, training=self.training)
                for conv, bn in zip(self.convs[:-1], self.bns):
                    h_ = conv(x, adj)
                    if bn_on:
                        h_ = bn(h_)
                    if res_on and h_.size(-1) == x.size(-1):
                        h_ = h_ + x
                    x = F.dropout(h_.relu(), p=drop, training=self.training)
                return self.convs[-1](x, adj)

        net = GCN()
        return net, list(net.convs[:-1].parameters()) + list(net.bns.parameters()), list(net.convs[-1].parameters())

    if model_name == "gat":
        heads, out_heads = int(h["heads"]), int(h["out_heads"])

        class GAT(nn.Module):
            def __init__(self):
                super().__init__()
                convs = [GATConv(in_dim if i == 0 else hid * heads, hid, heads, concat=True, dropout=drop,
                                 add_self_loops=False) for i in range(L - 1)]
                convs.append(GATConv(in_dim if L == 1 else hid * heads, classes, out_heads, concat=False,
                                     dropout=drop, add_self_loops=False))
                self.convs = nn.ModuleList(convs)

            def forward(self, x, adj):
                for conv in self.convs[:-1]:
                    x = F.elu(conv(F.dropout(x, p=drop, training=self.training), adj))
                return self.convs[-1](F.dropout(x, p=drop, training=self.training), adj)

        net = GAT()
        return net, list(net.convs.parameters()), []

    if model_name == "appnp":
        class APPNPNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.lins = nn.ModuleList([nn.Linear(in_dim, hid), nn.Linear(hid, classes)])
                self.prop = APPNP(K=L, alpha=float(h["alpha"]), normalize=False)

            def forward(self, x, adj):
                x = F.dropout(x, p=drop, training=self.training)
                x = F.dropout(self.lins[0](x).relu(), p=drop, training=self.training)
                return self.prop(self.lins[1](x), adj)

        net = APPNPNet()
        return net, list(net.lins[0].parameters()), list(net.lins[1].parameters())

    if model_name == "gcnii":
        class GCNII(nn.Module):
            def __init__(self):
                super().__init__()
                self.lins = nn.ModuleList([nn.Linear(in_dim, hid), nn.Linear(hid, classes)])
                self.convs = nn.ModuleList(
                    GCN2Conv(hid, alpha=float(h["alpha"]), theta=float(h["theta"]), layer=i + 1, shared_weights=True,
                             normalize=False) for i in range(L))
                self.bns = nn.ModuleList(nn.BatchNorm1d(hid) for _ in range(L))

            def forward(self, x, adj):
                x = F.dropout(x, p=drop, training=self.training)  # the reference's drop_input (gas: on too)
                x = x0 = self.lins[0](x).relu()
                x = F.dropout(x, p=drop, training=self.training)
                for conv, bn in zip(self.convs, self.bns):
                    h_ = conv(x, x0, adj)
                    if bn_on:
                        h_ = bn(h_)
                    if res_on:
                        h_ = h_ + x
                    x = F.dropout(h_.relu(), p=drop, training=self.training)
                return self.lins[1](x)

        net = GCNII()
        return net, list(net.convs.parameters()) + list(net.bns.parameters()), list(net.lins.parameters())

    fail(f"no PyG model for '{model_name}' (known: {', '.join(MODELS)})")


# ---------------------------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--like", required=True, type=pathlib.Path, help="gas-train result JSON")
    ap.add_argument("--splits", type=pathlib.Path, help="npz with train_masks/val_masks/test_masks [S, N]")
    ap.add_argument("--data", help="dataset file or Planetoid directory (default: the JSON's spec)")
    ap.add_argument("--runs", type=int, help="number of runs (default: the JSON's)")
    ap.add_argument("--epochs", type=int, help="epochs per run (default: the JSON's)")
    ap.add_argument("--seed", type=int, help="base seed (default: the JSON's)")
    ap.add_argument("--threads", type=int, help="torch threads (default: the JSON's threads, else 1)")
    ap.add_argument("--out", required=True, type=pathlib.Path, help="output JSON")
    ap.add_argument("--quiet", action="store_true", help="only the per-run and summary lines")
    args = ap.parse_args(argv)

    try:
        like = json.loads(args.like.read_text())
    except (OSError, ValueError) as e:
        fail(f"{args.like}: {e}")
    model_name = str(like.get("model", "")).lower()
    if model_name not in MODELS:
        fail(f"{args.like}: model '{like.get('model')}' is none of {', '.join(MODELS)}")
    hyper_in = dict(like.get("hyperparameters") or {})
    h = dict(DEFAULTS)
    h.update({k: v for k, v in hyper_in.items() if v is not None})
    missing = sorted(k for k in DEFAULTS if k not in hyper_in)
    epochs = args.epochs if args.epochs is not None else int(like.get("epochs") or hyper_in.get("epochs") or 0)
    if epochs <= 0:
        fail(f"{args.like}: no positive 'epochs'" if args.epochs is None else "--epochs must be at least 1")
    metric = str(like.get("metric") or "accuracy")
    if metric not in ("accuracy", "roc_auc"):
        fail(f"{args.like}: metric '{metric}' is neither accuracy nor roc_auc")
    runs = args.runs if args.runs is not None else int(like.get("runs") or 1)
    if runs < 1:
        fail("--runs must be at least 1")
    seed = args.seed if args.seed is not None else int(like.get("seed") or 0)
    threads = args.threads if args.threads is not None else int(like.get("threads") or 1)
    if threads < 1:
        fail("--threads must be at least 1")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)

    spec = str(like.get("spec") or "")
    kind, _, argument = spec.partition(":")
    if args.data:
        data_path = resolve_path(args.data, args.like)
    elif kind in ("npz", "planetoid") and argument:
        data_path = resolve_path(argument, args.like)
    else:
        fail(f"{args.like}: spec '{spec}' is no npz: or planetoid: file; pass --data")

    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import scipy.sparse as sp
    import torch
    import torch.nn.functional as F
    import torch_geometric
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass

    t_load = time.perf_counter()
    if data_path.is_dir():
        x, y, edge_index, stored_masks = read_planetoid(np, data_path)
    elif data_path.is_file():
        x, y, edge_index, stored_masks = read_npz(np, sp, data_path)
    else:
        fail(f"{data_path}: no such file or directory")
    n = x.shape[0]
    if args.splits:
        masks = read_masks(np, args.splits, n)
    elif stored_masks is not None:
        masks = check_masks(np, stored_masks, n, str(data_path))
    else:
        fail(f"{data_path} stores no split: pass --splits (gas-inspect --export-splits)")
    num_splits = masks[0].shape[0]
    classes = int(y.max()) + 1
    if metric == "roc_auc" and classes != 2:
        fail(f"metric roc_auc needs two classes; the dataset has {classes}")

    if h["row_normalize"]:
        s = x.astype(np.float64).sum(axis=1, keepdims=True)
        x = np.where(s != 0, x / np.where(s != 0, s, 1.0), x).astype(np.float32)

    # Propagation matrices: gcn_norm(A + I) for GCN / APPNP / GCNII, A + I for GAT (attention normalises).
    loops = np.arange(n, dtype=np.int64)
    row = np.concatenate([edge_index[0], loops])
    col = np.concatenate([edge_index[1], loops])
    if model_name == "gat":
        adj = torch.from_numpy(np.stack([row, col]))
        adj_kind = "edge_index with self-loops"
    else:
        a = sp.csr_matrix((np.ones(row.size, dtype=np.float64), (row, col)), shape=(n, n))
        deg_inv_sqrt = 1.0 / np.sqrt(np.asarray(a.sum(axis=1)).ravel())
        a = sp.diags(deg_inv_sqrt) @ a @ sp.diags(deg_inv_sqrt)
        a = a.tocsr().astype(np.float32)
        a.sort_indices()
        adj = torch.sparse_csr_tensor(torch.from_numpy(a.indptr.astype(np.int64)),
                                      torch.from_numpy(a.indices.astype(np.int64)),
                                      torch.from_numpy(a.data), size=(n, n))
        adj_kind = "gcn_norm(A + I) as torch.sparse_csr"
    xt = torch.from_numpy(np.ascontiguousarray(x))
    yt = torch.from_numpy(y)
    load_s = time.perf_counter() - t_load

    run_split_in = like.get("run_split")
    run_split = []
    for r in range(runs):
        s = int(run_split_in[r]) if isinstance(run_split_in, list) and r < len(run_split_in) else r
        if s < 0:
            fail(f"run {r}: split {s}")
        run_split.append(s % num_splits)
    if not args.quiet:
        print(f"pyg_fullbatch: {data_path.name}: {n} nodes, {edge_index.shape[1]} directed edges (symmetric, no "
              f"self-loops), {x.shape[1]} features, {classes} classes, {num_splits} split"
              f"{'' if num_splits == 1 else 's'} (loaded in {load_s:.1f} s); {model_name} full-batch, {epochs} "
              f"epochs, {runs} run{'' if runs == 1 else 's'}, seed {seed}, {threads} thread"
              f"{'' if threads == 1 else 's'}, metric {metric}; adjacency {adj_kind}; torch {torch.__version__}, "
              f"torch_geometric {torch_geometric.__version__}")
        if missing:
            print(f"pyg_fullbatch: hyperparameters missing from the JSON, defaults used: "
                  + ", ".join(f"{k}={DEFAULTS[k]}" for k in missing))
        wrapped = [r for r in range(runs) if run_split[r] != (int(run_split_in[r]) if isinstance(run_split_in, list)
                                                              and r < len(run_split_in) else r)]
        if wrapped:
            print(f"pyg_fullbatch: runs {wrapped} (0-based) name no split of the {num_splits} held; they use "
                  f"split (index mod {num_splits})")

    def evaluate(out, mask):
        if metric == "accuracy":
            return 100.0 * float((out[mask].argmax(dim=1) == yt[mask]).double().mean())
        prob = torch.softmax(out[mask].double(), dim=1)[:, 1].numpy()
        return 100.0 * roc_auc(np, prob, y[mask.numpy()] == 1)

    clip = float(h["grad_clip"] or 0.0)
    tests, vals, best_epochs, run_seconds, step_times = [], [], [], [], []
    t_all = time.perf_counter()
    for r in range(runs):
        s = run_split[r]
        train_m, val_m, test_m = (torch.from_numpy(np.ascontiguousarray(m[s])) for m in masks)
        if not bool(train_m.any()):
            fail(f"split {s} has no training node")
        torch.manual_seed(seed + r)
        net, reg, nonreg = build_model(torch, F, model_name, h, x.shape[1], classes)
        groups = [dict(params=p, weight_decay=float(wd))
                  for p, wd in ((reg, h["reg_weight_decay"]), (nonreg, h["nonreg_weight_decay"])) if p]
        opt = torch.optim.Adam(groups, lr=float(h["lr"]))
        best_val, best_test, best_epoch = -math.inf, float("nan"), 0
        t_run = time.perf_counter()
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            net.train()
            opt.zero_grad()
            out = net(xt, adj)
            loss = F.cross_entropy(out[train_m], yt[train_m])
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
            step_times.append(time.perf_counter() - t0)
            net.eval()
            with torch.no_grad():
                out = net(xt, adj)
            v, t = evaluate(out, val_m), evaluate(out, test_m)
            if v > best_val:
                best_val, best_test, best_epoch = v, t, epoch
        run_seconds.append(time.perf_counter() - t_run)
        tests.append(best_test)
        vals.append(best_val)
        best_epochs.append(best_epoch)
        print(f"run {r + 1}/{runs} split {s}: test {best_test:.2f} val {best_val:.2f} (best epoch {best_epoch}/"
              f"{epochs}), final loss {float(loss):.4f}, {run_seconds[-1]:.1f} s", flush=True)
    train_s = time.perf_counter() - t_all

    test_mean = statistics.fmean(tests)
    test_std = statistics.stdev(tests) if runs > 1 else 0.0
    val_mean = statistics.fmean(vals)
    epoch_median = statistics.median(step_times)
    print(f"pyg full-batch {model_name} on {like.get('dataset', data_path.stem)}: {metric} {test_mean:.2f} +- "
          f"{test_std:.2f} over {runs} run{'' if runs == 1 else 's'} (val {val_mean:.2f}), epoch "
          f"{epoch_median * 1000:.1f} ms median, {threads} thread{'' if threads == 1 else 's'}")

    result = {
        "library": "pyg", "torch": torch.__version__, "torch_geometric": torch_geometric.__version__,
        "dataset": like.get("dataset", data_path.stem), "spec": spec, "data": str(data_path),
        "splits": str(args.splits) if args.splits else None, "split": like.get("split"),
        "model": model_name, "mode": "full", "metric": metric, "runs": runs, "seed": seed, "epochs": epochs,
        "test": tests, "val": vals, "best_epoch": best_epochs, "test_mean": test_mean, "test_std": test_std,
        "val_mean": val_mean, "epoch_seconds_median": epoch_median, "train_seconds": train_s,
        "run_train_seconds": run_seconds, "threads": threads, "run_split": run_split,
        "adjacency": adj_kind, "like": str(args.like), "hyperparameters": hyper_in,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(finite(result), indent=1, allow_nan=False) + "\n")
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
