#!/usr/bin/env python3
"""gas against PyTorch Geometric on the CPU, side by side (issue 13): epoch time, peak memory, accuracy.

    python3 -m venv ../pyg-venv && ../pyg-venv/bin/pip install torch torch_geometric scipy
    ../pyg-venv/bin/python tools/compare_pyg.py --gas-train build/examples/gas-train --data ../shared/data \\
        [--threads 1,2] [--epochs N] [--only cora-gcn,sbm-gcn] [--write-docs docs/performance.md] [--json out.json]

Cases (`--only` takes names, comma-separated, or shell patterns such as 'cora-*'):

  cora-gcn, cora-gat, cora-appnp, cora-gcnii  Cora (planetoid:DATA/planetoid/cora, public split), the hyperparameters
                                              of `gas-train --preset paper` (examples/gas_train/config.hpp, after
                                              REFERENCE.md); GCNII has 64 layers.
  photo-gcn                                   Amazon-Photo (DATA/gnn-benchmark/amazon_electronics_photo.npz), GCN with
                                              the reference's Amazon-Photo row (2/64/0.5, 32 parts / batch 16, lr 0.01,
                                              wd 1e-3 / 0, no clip, raw features). gas-train has no preset for it and
                                              the gnn-benchmark files carry no split, so the script writes the graph,
                                              the raw features, the labels and one split (per class 20 train, 30
                                              validation, the rest test; numpy seed 12345) to a heterophilous-layout
                                              .npz in --cache-dir that both sides read, and passes the
                                              hyperparameters to gas-train as flags.
  sbm-gcn                                     gas's stochastic block model sbm:nodes=100000,degree=20,features=128
                                              (8 classes, seed 0), GCN 2 x 64 (gas-train's model defaults otherwise:
                                              dropout 0.5, 40 parts / batch 10, lr 0.01, wd 5e-4; raw Gaussian
                                              features, --row-normalize false). PyG trains on the IDENTICAL dataset:
                                              this script re-implements gas's generator (include/gas/gen/sbm.hpp,
                                              xoshiro256** / splitmix64 streams) in numpy; node and edge counts are
                                              checked against gas-train's report (the replica was checked bit
                                              for bit against gas's generator, features included, when written;
                                              a later change to sbm.hpp needs the same change here). gas also
                                              runs with --mode full here, for the GAS / full-batch epoch ratio.

What is measured, per case and thread count T, each in its own process, one after the other:

  gas   `gas-train --dataset SPEC --model M --epochs E --runs 1 --json F --preset paper` (Cora; the SBM and
        Amazon-Photo cases spell their hyperparameters out instead: no preset there) with
        OMP_NUM_THREADS=T (GAS mode; METIS clusters, histories). Epoch time = the JSON's epoch_seconds_median (median
        of the training steps of every epoch, evaluation excluded); memory = its peak_rss_mb, the whole process's
        peak resident set; accuracy = test at the best validation epoch.
  PyG   full-batch training of the same architecture and hyperparameters (layers, widths, heads, dropouts, alpha,
        theta, Adam lr, the two weight-decay groups, gradient clipping) in PyG's faster CPU variant: GCNConv,
        APPNP and GCN2Conv with cached=True on a cached transposed adjacency (torch_sparse.SparseTensor when
        installed, else torch.sparse_csr from T.ToSparseTensor), GATConv on edge_index. OMP_NUM_THREADS=T and
        torch.set_num_threads(T). One epoch = forward, loss, backward, clipping, optimizer step (timed with
        time.perf_counter; evaluation runs after it, untimed); the epoch time is the median over epochs after
        2 warm-up epochs. Memory = peak RSS (VmHWM) minus the RSS right after importing torch/PyG and loading the
        data (VmHWM is reset there through /proc/self/clear_refs where the kernel allows it); the whole
        process's peak is reported too. Accuracy = test at the best validation epoch, as gas reports it.

Default epochs keep the whole comparison at 1 and 2 threads near 10-15 minutes on 2 cores; short runs give
lower accuracies than the reference's 200-1000 epochs. `--write-docs FILE` replaces the text between
`<!-- compare_pyg:begin -->` and `<!-- compare_pyg:end -->` in FILE (or appends a section with those markers).
Needs numpy (and scipy for photo-gcn) in the running interpreter and torch + torch_geometric for the PyG side; a
failing run prints its error and the script goes on. Nothing here is needed by the build or the tests.
"""

import argparse
import datetime
import fnmatch
import json
import math
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = pathlib.Path(__file__).resolve()
REPO = HERE.parent.parent
BEGIN, END = "<!-- compare_pyg:begin -->", "<!-- compare_pyg:end -->"
SECTION_TITLE = "## Against PyG on the CPU (tools/compare_pyg.py)"

SBM_SPEC = "sbm:nodes=100000,degree=20,features=128,seed=0"

# Hyperparameters as gas-train resolves them (examples/gas_train/config.hpp: paper_preset for Cora, model_defaults
# otherwise); when gas-train ran, the PyG side takes the values from its JSON instead and the script says where they
# differ from these.
BASE = dict(layers=2, hidden=16, heads=8, out_heads=1, dropout=0.5, input_dropout=0.0, alpha=0.1, theta=0.5,
            batch_norm=False, residual=False, lr=0.01, reg_weight_decay=5e-4, nonreg_weight_decay=0.0,
            grad_clip=0.0, num_parts=40, batch_size=10, row_normalize=True)


def hyper(**kw):
    h = dict(BASE)
    h.update(kw)
    return h


CASES = [
    dict(name="cora-gcn", title="Cora GCN", model="gcn", data="cora", epochs=200,
         hyper=hyper(layers=2, hidden=16, dropout=0.5, input_dropout=0.5, lr=0.01, reg_weight_decay=5e-4,
                     grad_clip=1.0, num_parts=40, batch_size=10)),
    dict(name="cora-gat", title="Cora GAT", model="gat", data="cora", epochs=200,
         hyper=hyper(layers=2, hidden=8, heads=8, out_heads=1, dropout=0.6, lr=0.005, reg_weight_decay=5e-4,
                     grad_clip=1.0, num_parts=40, batch_size=10)),
    dict(name="cora-appnp", title="Cora APPNP", model="appnp", data="cora", epochs=200,
         hyper=hyper(layers=10, hidden=64, alpha=0.1, dropout=0.5, lr=0.01, reg_weight_decay=5e-3,
                     num_parts=4, batch_size=2)),
    dict(name="cora-gcnii", title="Cora GCNII (64 layers)", model="gcnii", data="cora", epochs=40,
         hyper=hyper(layers=64, hidden=64, alpha=0.1, theta=0.5, dropout=0.6, lr=0.01, reg_weight_decay=0.01,
                     nonreg_weight_decay=5e-4, num_parts=2, batch_size=1)),
    dict(name="photo-gcn", title="Amazon-Photo GCN", model="gcn", data="photo", epochs=200,
         hyper=hyper(layers=2, hidden=64, dropout=0.5, input_dropout=0.5, lr=0.01, reg_weight_decay=1e-3,
                     nonreg_weight_decay=0.0, grad_clip=0.0, num_parts=32, batch_size=16, row_normalize=False),
         gas_flags=["--layers", "2", "--hidden", "64", "--dropout", "0.5", "--input-dropout", "0.5",
                    "--num-parts", "32", "--batch-size", "16", "--lr", "0.01", "--reg-wd", "1e-3",
                    "--nonreg-wd", "0", "--grad-clip", "0", "--row-normalize", "false"]),
    dict(name="sbm-gcn", title="SBM 100k nodes, degree 20, 128 features; GCN 2 x 64", model="gcn", data="sbm",
         epochs=30, full_too=True,
         hyper=hyper(layers=2, hidden=64, dropout=0.5, input_dropout=0.0, row_normalize=False),
         gas_flags=["--hidden", "64", "--row-normalize", "false"]),
]


# ---------------------------------------------------------------------------------------------------------------
# gas's SBM generator (include/gas/gen/sbm.hpp and include/gas/core/rng.hpp) in Python/numpy, bit for bit on the
# integers (labels, edges, split); features up to the last bit of libm's log/sin/cos in numpy versus glibc.

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
STREAM_MUL = 0xD1B54A32D192ED03


def _splitmix64(state):
    state = (state + GOLDEN) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def _counter_hash(seed, stream, counter):
    s = seed ^ ((stream * STREAM_MUL) & M64)
    s, _ = _splitmix64(s)
    s ^= (counter * GOLDEN) & M64
    s, a = _splitmix64(s)
    s, b = _splitmix64(s)
    return a ^ b


def _rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class _Rng:
    """gas::Rng (xoshiro256** seeded by splitmix64) on Python integers."""

    def __init__(self, seed, stream=0):
        s = seed ^ ((stream * STREAM_MUL) & M64)
        self.st = []
        for _ in range(4):
            s, w = _splitmix64(s)
            self.st.append(w)
        self.spare = None

    def next(self):
        s0, s1, s2, s3 = self.st
        result = (_rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        self.st = [s0, s1, s2, s3]
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def below(self, n):
        m = self.next() * n
        low = m & M64
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.next() * n
                low = m & M64
        return m >> 64

    def normal(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        u1 = self.uniform()
        while u1 <= 0.0:
            u1 = self.uniform()
        u2 = self.uniform()
        r = math.sqrt(-2.0 * math.log(u1))
        self.spare = r * math.sin(2.0 * math.pi * u2)
        return r * math.cos(2.0 * math.pi * u2)

    def shuffle(self, a):
        for i in range(len(a) - 1, 0, -1):
            j = self.below(i + 1)
            a[i], a[j] = a[j], a[i]


class _VecRng:
    """Many independent gas::Rng streams at once (one per lane), on numpy uint64 arrays (wrapping arithmetic)."""

    def __init__(self, np, seeds):
        self.np = np
        u = np.uint64
        s = np.asarray(seeds, dtype=np.uint64).copy()
        words = []
        for _ in range(4):
            s = s + u(GOLDEN)
            z = s.copy()
            z = (z ^ (z >> u(30))) * u(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> u(27))) * u(0x94D049BB133111EB)
            words.append(z ^ (z >> u(31)))
        self.s0, self.s1, self.s2, self.s3 = words

    def next(self):
        u = self.np.uint64
        x = self.s1 * u(5)
        result = ((x << u(7)) | (x >> u(57))) * u(9)
        t = self.s1 << u(17)
        self.s2 ^= self.s0
        self.s3 ^= self.s1
        self.s1 ^= self.s2
        self.s0 ^= self.s3
        self.s2 ^= t
        self.s3 = (self.s3 << u(45)) | (self.s3 >> u(19))
        return result

    def uniform(self):
        return (self.next() >> self.np.uint64(11)).astype(self.np.float64) * 2.0 ** -53

    def below(self, n):
        """Lemire's bounded draw for n < 2^32 per lane; a lane that would need a rejection redraw (probability
        about n / 2^64) raises instead of diverging silently."""
        np = self.np
        u = np.uint64
        n = np.asarray(n, dtype=np.uint64)
        x = self.next()
        lo32 = u(0xFFFFFFFF)
        high = ((x >> u(32)) * n + (((x & lo32) * n) >> u(32))) >> u(32)
        low = x * n
        if np.any(low < n):
            nn = np.broadcast_to(n, low.shape)
            for i in np.nonzero(low < n)[0]:
                ni = int(nn[i])
                if int(low[i]) < ((1 << 64) - ni) % ni:
                    raise RuntimeError("sbm replica: a bounded draw needs a rejection redraw; not replicated")
        return high


def _llround(x):
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def gas_sbm(nodes=10000, classes=8, features=64, degree=10.0, homophily=0.8, noise=1.0, train=0.6, val=0.2,
            seed=0):
    """gas::gen::sbm: (x float32 [n, f], labels int64 [n], undirected edge pairs (src, dst) before symmetrizing,
    train / val / test node ids)."""
    import numpy as np
    n, k, f = int(nodes), int(classes), int(features)
    assert n < 2 ** 31 and k >= 1
    labels = [v % k for v in range(n)]
    _Rng(seed, 1).shuffle(labels)
    labels = np.asarray(labels, dtype=np.int64)
    order = np.argsort(labels, kind="stable")  # by_class: nodes grouped by class, ascending ids within a class
    offset = np.zeros(k + 1, dtype=np.int64)
    offset[1:] = np.cumsum(np.bincount(labels, minlength=k))

    m = _llround(n * degree / 2)
    block = 4096
    blocks = (m + block - 1) // block
    src = np.empty((blocks, block), dtype=np.int64)
    dst = np.empty((blocks, block), dtype=np.int64)
    if blocks > 0:
        rng = _VecRng(np, [_counter_hash(seed, 2, b) for b in range(blocks)])
        first_of = offset[:-1]
        size_of = offset[1:] - offset[:-1]
        for e in range(block):
            s = rng.below(n).astype(np.int64)
            c = labels[s]
            first, size = first_of[c], size_of[c]
            same = rng.uniform() < homophily if k > 1 else np.ones(blocks, dtype=bool)
            # Either branch draws exactly one bounded number (barring a rejection, which below() refuses).
            bound = np.where(same, size, n - size)
            r = rng.below(np.maximum(bound, 1)).astype(np.int64)
            at = np.where(same, first + r, np.where(r >= first, r + size, r))
            src[:, e] = s
            dst[:, e] = order[at]
    src, dst = src.reshape(-1)[:m], dst.reshape(-1)[:m]

    crng = _Rng(seed, 3)
    scale = 1.0 / math.sqrt(f) if f > 0 else 0.0
    centroids = np.array([scale * crng.normal() for _ in range(k * f)], dtype=np.float64).reshape(k, f)
    x = np.empty((n, f), dtype=np.float32)
    if f > 0:
        frng = _VecRng(np, [_counter_hash(seed, 4, v) for v in range(n)])
        for j in range(0, f, 2):
            u1 = frng.uniform()
            if np.any(u1 <= 0.0):
                raise RuntimeError("sbm replica: a zero uniform draw needs a redraw; not replicated")
            u2 = frng.uniform()
            r = np.sqrt(-2.0 * np.log(u1))
            x[:, j] = (centroids[labels, j] + noise * (r * np.cos(2.0 * math.pi * u2))).astype(np.float32)
            if j + 1 < f:
                x[:, j + 1] = (centroids[labels, j + 1] + noise * (r * np.sin(2.0 * math.pi * u2))).astype(np.float32)

    parts = ([], [], [])
    for c in range(k):
        members = [int(v) for v in order[offset[c]:offset[c + 1]]]
        _Rng(_counter_hash(seed, 5, c)).shuffle(members)
        size = len(members)
        t = min(size, _llround(train * size))
        if train > 0 and t == 0:
            t = min(size, 1)
        va = min(size - t, _llround(val * size))
        parts[0].extend(members[:t])
        parts[1].extend(members[t:t + va])
        parts[2].extend(members[t + va:])
    tr, va, te = (np.sort(np.asarray(p, dtype=np.int64)) for p in parts)
    return x, labels, src, dst, tr, va, te


def parse_sbm_spec(spec):
    assert spec.startswith("sbm")
    kv = {}
    for item in spec.partition(":")[2].split(","):
        if item.strip():
            key, _, value = item.partition("=")
            kv[key.strip()] = value.strip()
    ints = {"nodes", "classes", "features", "seed"}
    return {key: (int(float(v)) if key in ints else float(v)) for key, v in kv.items()}


def write_hetero_npz(path, x, labels, edges, train, val, test):
    """The heterophilous-graphs .npz layout gas reads (node_features, node_labels, edges [E, 2], one split)."""
    import numpy as np
    n = x.shape[0]
    masks = {}
    for key, ids in (("train_masks", train), ("val_masks", val), ("test_masks", test)):
        mask = np.zeros(n, dtype=bool)
        mask[ids] = True
        masks[key] = mask
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, node_features=x.astype(np.float32), node_labels=labels.astype(np.int64),
             edges=np.ascontiguousarray(edges.astype(np.int64)), **masks)
    os.replace(tmp, path)


def prepare_sbm(cache_dir):
    name = re.sub(r"[^A-Za-z0-9=_.-]", "_", SBM_SPEC) + ".v1.npz"  # bump when gas_sbm changes
    path = cache_dir / name
    if path.exists():
        return path, "cached"
    t0 = time.perf_counter()
    x, labels, src, dst, tr, va, te = gas_sbm(**parse_sbm_spec(SBM_SPEC))
    import numpy as np
    write_hetero_npz(path, x, labels, np.stack([src, dst], axis=1), tr, va, te)
    return path, f"generated in {time.perf_counter() - t0:.1f} s"


def prepare_photo(data_dir, cache_dir):
    import numpy as np
    import scipy.sparse as sp
    src_file = data_dir / "gnn-benchmark" / "amazon_electronics_photo.npz"
    path = cache_dir / "amazon_electronics_photo_split12345.npz"
    if path.exists():
        return path, "cached"
    z = np.load(src_file, allow_pickle=False)
    adj = sp.csr_matrix((z["adj_data"], z["adj_indices"], z["adj_indptr"]), shape=tuple(z["adj_shape"]))
    adj.eliminate_zeros()
    coo = adj.tocoo()
    attr = sp.csr_matrix((z["attr_data"], z["attr_indices"], z["attr_indptr"]), shape=tuple(z["attr_shape"]))
    x = attr.toarray().astype(np.float32)
    labels = z["labels"].astype(np.int64)
    rng = np.random.RandomState(12345)
    tr, va, te = [], [], []
    for c in range(int(labels.max()) + 1):
        members = rng.permutation(np.nonzero(labels == c)[0])
        tr.append(members[:20])
        va.append(members[20:50])
        te.append(members[50:])
    write_hetero_npz(path, x, labels, np.stack([coo.row, coo.col], axis=1), np.concatenate(tr), np.concatenate(va),
                     np.concatenate(te))
    return path, "converted"


# ---------------------------------------------------------------------------------------------------------------
# The PyG worker: one measurement in a fresh process.

def _status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def pyg_worker(cfg):
    threads = int(cfg["threads"])
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import torch
    import torch.nn.functional as F
    import torch_geometric
    import torch_geometric.transforms as T
    from torch_geometric.data import Data
    from torch_geometric.utils import coalesce, remove_self_loops, to_undirected
    from torch_geometric.nn import APPNP, GATConv, GCN2Conv, GCNConv
    torch.set_num_threads(threads)
    torch.manual_seed(int(cfg.get("seed", 0)))
    h = cfg["hyper"]

    if cfg["data_kind"] == "planetoid":
        from torch_geometric.io import read_planetoid_data
        d = read_planetoid_data(cfg["data_path"], cfg.get("planetoid_name", "cora"))
        x, y, edge_index = d.x, d.y, d.edge_index
        masks = d.train_mask, d.val_mask, d.test_mask
    else:
        z = np.load(cfg["data_path"], allow_pickle=False)
        x = torch.from_numpy(z["node_features"])
        y = torch.from_numpy(z["node_labels"])
        edge_index = torch.from_numpy(z["edges"].T.copy())
        masks = tuple(torch.from_numpy(z[k]) for k in ("train_masks", "val_masks", "test_masks"))
    n = x.size(0)
    # gas's load semantics: symmetric, deduplicated, no self-loops.
    edge_index, _ = remove_self_loops(edge_index)
    edge_index = coalesce(to_undirected(edge_index, num_nodes=n), num_nodes=n)
    if h.get("row_normalize"):
        s = x.sum(dim=1, keepdim=True, dtype=torch.float64)
        x = torch.where(s != 0, (x.double() / torch.where(s != 0, s, torch.ones_like(s))), x.double()).float()
    x = x.contiguous()
    num_classes = int(y.max()) + 1
    data = Data(x=x, y=y, edge_index=edge_index, num_nodes=n)
    if cfg["model"] == "gat":
        adj, adj_kind = edge_index, "edge_index"
    else:
        data = T.ToSparseTensor()(data)
        adj = data.adj_t
        adj_kind = type(adj).__module__ + "." + type(adj).__name__
        if isinstance(adj, torch.Tensor):
            adj_kind = f"torch.Tensor({adj.layout})"
    train_mask, val_mask, test_mask = masks

    rss_loaded = _status_kib("VmRSS")
    hwm_before = _status_kib("VmHWM")
    reset = False
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = _status_kib("VmHWM") <= rss_loaded + 1024
    except OSError:
        pass

    model_name = cfg["model"]
    drop, L = float(h["dropout"]), int(h["layers"])
    if model_name == "gcn":
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                dims = [x.size(1)] + [int(h["hidden"])] * (L - 1) + [num_classes]
                self.convs = torch.nn.ModuleList(GCNConv(dims[i], dims[i + 1], cached=True) for i in range(L))

            def forward(self, x, adj):
                for i, conv in enumerate(self.convs):
                    x = F.dropout(x, p=float(h["input_dropout"]) if i == 0 else drop, training=self.training)
                    x = conv(x, adj)
                    if i < L - 1:
                        x = x.relu()
                return x

        net = Net()
        reg = list(net.convs[:-1].parameters())
        nonreg = list(net.convs[-1].parameters())
    elif model_name == "gat":
        heads, out_heads, hid = int(h["heads"]), int(h["out_heads"]), int(h["hidden"])

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                convs = []
                for i in range(L):
                    last = i == L - 1
                    convs.append(GATConv(x.size(1) if i == 0 else hid * heads, num_classes if last else hid,
                                         heads=out_heads if last else heads, concat=not last, dropout=drop))
                self.convs = torch.nn.ModuleList(convs)

            def forward(self, x, adj):
                for i, conv in enumerate(self.convs):
                    x = F.dropout(x, p=drop, training=self.training)
                    x = conv(x, adj)
                    if i < L - 1:
                        x = F.elu(x)
                return x

        net = Net()
        reg = list(net.convs[:-1].parameters())
        nonreg = list(net.convs[-1].parameters())
    elif model_name == "appnp":
        hid = int(h["hidden"])

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin0 = torch.nn.Linear(x.size(1), hid)
                self.lin1 = torch.nn.Linear(hid, num_classes)
                self.prop = APPNP(K=L, alpha=float(h["alpha"]), cached=True)

            def forward(self, x, adj):
                x = F.dropout(x, p=drop, training=self.training)
                x = self.lin0(x).relu()
                x = F.dropout(x, p=drop, training=self.training)
                return self.prop(self.lin1(x), adj)

        net = Net()
        reg = list(net.lin0.parameters())
        nonreg = list(net.lin1.parameters())
    elif model_name == "gcnii":
        hid = int(h["hidden"])

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin0 = torch.nn.Linear(x.size(1), hid)
                self.lin1 = torch.nn.Linear(hid, num_classes)
                self.convs = torch.nn.ModuleList(
                    GCN2Conv(hid, alpha=float(h["alpha"]), theta=float(h["theta"]), layer=i + 1,
                             shared_weights=True, cached=True) for i in range(L))

            def forward(self, x, adj):
                x = F.dropout(x, p=drop, training=self.training)
                x = x0 = self.lin0(x).relu()
                for conv in self.convs:
                    x = F.dropout(x, p=drop, training=self.training)
                    x = conv(x, x0, adj).relu()
                x = F.dropout(x, p=drop, training=self.training)
                return self.lin1(x)

        net = Net()
        reg = list(net.convs.parameters())
        nonreg = list(net.lin0.parameters()) + list(net.lin1.parameters())
    else:
        raise ValueError(f"no PyG model for '{model_name}'")

    opt = torch.optim.Adam([dict(params=reg, weight_decay=float(h["reg_weight_decay"])),
                            dict(params=nonreg, weight_decay=float(h["nonreg_weight_decay"]))], lr=float(h["lr"]))
    clip = float(h.get("grad_clip") or 0.0)
    epochs, warmup = int(cfg["epochs"]), int(cfg.get("warmup", 2))
    times, best_val, test_at_best, best_epoch = [], -1.0, 0.0, -1
    for epoch in range(epochs):
        t0 = time.perf_counter()
        net.train()
        opt.zero_grad()
        out = net(data.x, adj)
        loss = F.cross_entropy(out[train_mask], data.y[train_mask])
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        opt.step()
        times.append(time.perf_counter() - t0)
        net.eval()
        with torch.no_grad():
            pred = net(data.x, adj).argmax(dim=1)
        accs = [float((pred[m] == data.y[m]).float().mean()) for m in (val_mask, test_mask)]
        if accs[0] > best_val:
            best_val, test_at_best, best_epoch = accs[0], accs[1], epoch
    timed = times[warmup:] if len(times) > warmup else times
    hwm = _status_kib("VmHWM")
    return dict(
        ok=True, epoch_s=statistics.median(timed), epoch_s_min=min(timed), epochs=epochs, warmup=warmup,
        test=100 * test_at_best, val=100 * best_val, best_epoch=best_epoch, final_loss=float(loss),
        peak_mib=hwm / 1024, net_peak_mib=(hwm - rss_loaded) / 1024, rss_loaded_mib=rss_loaded / 1024,
        hwm_before_reset_mib=hwm_before / 1024, peak_reset=reset, nodes=n, edges=int(edge_index.size(1)),
        features=int(x.size(1)), classes=num_classes, adj=adj_kind, threads=torch.get_num_threads(),
        torch=torch.__version__, pyg=torch_geometric.__version__,
        torch_sparse=bool(getattr(torch_geometric.typing, "WITH_TORCH_SPARSE", False)))


# ---------------------------------------------------------------------------------------------------------------
# The driver.

def wait_for(path, seconds):
    """The other engineers rebuild gas-train now and then: wait for it to be back."""
    deadline = time.time() + seconds
    while not (path.exists() and os.access(path, os.X_OK)):
        if time.time() > deadline:
            raise FileNotFoundError(f"{path} is missing (waited {seconds} s)")
        time.sleep(5)


def run_gas(args, case, spec, threads, full, work_dir):
    tag = f"{case['name']}.{'full' if full else 'gas'}.t{threads}"
    out, log = work_dir / f"{tag}.json", work_dir / f"{tag}.log"
    cmd = [str(args.gas_train), "--dataset", spec, "--model", case["model"],
           "--epochs", str(case_epochs(args, case)), "--runs", "1", "--json", str(out)]
    # Cora runs the reference's configuration; the SBM has no preset (gas-train refuses one) and this script's copy
    # of Amazon-Photo carries the one split PyG trains on, which the preset's per-class protocol would replace: both
    # spell their hyperparameters out.
    cmd += case["gas_flags"] if "gas_flags" in case else ["--preset", "paper"]
    if full:
        cmd += ["--mode", "full"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    rec = dict(side="gas-full" if full else "gas", case=case["name"], threads=threads, cmd=" ".join(cmd), ok=False)
    try:
        wait_for(args.gas_train, 600)
        st = args.gas_train.stat()
        rec["binary"] = f"{st.st_size} bytes, modified {datetime.datetime.fromtimestamp(st.st_mtime):%Y-%m-%d %H:%M:%S}"
        rec["load_before"] = os.getloadavg()[0]
        t0 = time.perf_counter()
        with open(log, "w") as f:
            proc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=args.timeout)
        rec["wall_s"] = time.perf_counter() - t0
        text = log.read_text(errors="replace")
        if proc.returncode != 0:
            rec["error"] = f"gas-train exited with {proc.returncode}: " + " | ".join(text.strip().splitlines()[-3:])
            return rec
        j = json.loads(out.read_text())
        rec.update(ok=True, epoch_s=j["epoch_seconds_median"], peak_mib=j["peak_rss_mb"], test=j["test_mean"],
                   val=j["val_mean"], epochs=j["epochs"], hyper=j.get("hyperparameters", {}), dataset=j["dataset"])
        m = re.search(r"dataset \S+: (\d+) nodes, (\d+) edges, (\d+) features, (\d+) classes", text)
        if m:
            rec.update(nodes=int(m[1]), edges=int(m[2]), features=int(m[3]), classes=int(m[4]))
    except Exception as e:  # noqa: BLE001 - a failing run is reported, the others go on
        rec["error"] = f"{type(e).__name__}: {e}"
    return rec


def run_pyg(args, case, data_kind, data_path, hyper_values, threads):
    cfg = dict(threads=threads, model=case["model"], data_kind=data_kind, data_path=str(data_path),
               epochs=case_epochs(args, case), warmup=2, hyper=hyper_values, seed=0)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    rec = dict(side="pyg", case=case["name"], threads=threads, ok=False)
    try:
        rec["load_before"] = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(HERE), "--pyg-worker", json.dumps(cfg)], env=env,
                              capture_output=True, text=True, timeout=args.timeout)
        rec["wall_s"] = time.perf_counter() - t0
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
            rec["error"] = f"PyG worker exited with {proc.returncode}: " + " | ".join(tail)
            return rec
        rec.update(json.loads(lines[-1][len("RESULT "):]))
    except Exception as e:  # noqa: BLE001
        rec["error"] = f"{type(e).__name__}: {e}"
    return rec


def case_epochs(args, case):
    return args.epochs if args.epochs else case["epochs"]


PYG_KEYS = ["layers", "hidden", "heads", "out_heads", "dropout", "input_dropout", "alpha", "theta", "lr",
            "reg_weight_decay", "nonreg_weight_decay", "grad_clip", "row_normalize", "batch_norm", "residual"]


def pyg_hyper(case, gas_rec, notes):
    """gas's resolved hyperparameters where gas-train ran, else the script's table; differences are noted."""
    h = dict(case["hyper"])
    g = gas_rec.get("hyper") if gas_rec and gas_rec.get("ok") else None
    if g:
        diff = [f"{k} {h[k]} -> {g[k]}" for k in PYG_KEYS if k in g and k in h and
                (float(g[k]) != float(h[k]))]
        if diff:
            notes.append(f"{case['name']}: gas-train resolved other hyperparameters than the script's table, PyG "
                         f"follows gas-train: " + ", ".join(diff))
        for k in PYG_KEYS:
            if k in g:
                h[k] = g[k]
    if h.get("batch_norm") or h.get("residual"):
        notes.append(f"{case['name']}: batch norm / residual are not built on the PyG side")
    return h


def fmt(v, digits=4):
    return "-" if v is None else f"{v:.{digits}f}"


def lookup(results, case, side, threads):
    for r in results:
        if r["case"] == case and r["side"] == side and r["threads"] == threads:
            return r
    return None


def val(r, key):
    return r.get(key) if r and r.get("ok") else None


def ratio(a, b):
    return a / b if a is not None and b else None


def render(results, cases, threads_list, notes, meta):
    lines = []
    head = "| case | epochs |" + "".join(
        f" gas s ({t} thr) | PyG s ({t} thr) | gas / PyG ({t} thr) |" for t in threads_list)
    lines += [head, "|---|---|" + "---|---|---|" * len(threads_list)]
    for c in cases:
        row = f"| {c['title']} | {meta['epochs'][c['name']]} |"
        for t in threads_list:
            g, p = val(lookup(results, c["name"], "gas", t), "epoch_s"), val(lookup(results, c["name"], "pyg", t),
                                                                              "epoch_s")
            row += f" {fmt(g)} | {fmt(p)} | {fmt(ratio(g, p), 2)} |"
        lines.append(row)
    lines.append("")
    lines.append("Peak memory, MiB: gas = gas-train's whole-process peak RSS; PyG net = peak RSS minus the RSS after "
                 "importing torch/PyG and loading the data (PyG whole-process peak in brackets).")
    lines.append("")
    lines += ["| case |" + "".join(f" gas ({t} thr) | PyG net ({t} thr) |" for t in threads_list),
              "|---|" + "---|---|" * len(threads_list)]
    for c in cases:
        row = f"| {c['title']} |"
        for t in threads_list:
            g = val(lookup(results, c["name"], "gas", t), "peak_mib")
            p = lookup(results, c["name"], "pyg", t)
            pn, pt = val(p, "net_peak_mib"), val(p, "peak_mib")
            row += f" {fmt(g, 0)} | {fmt(pn, 0)}{'' if pt is None else f' ({pt:.0f})'} |"
        lines.append(row)
    lines.append("")
    lines.append("Test accuracy (%) at the best validation epoch of these short runs (not the reference's epochs):")
    lines.append("")
    lines += ["| case |" + "".join(f" gas ({t} thr) | PyG ({t} thr) |" for t in threads_list),
              "|---|" + "---|---|" * len(threads_list)]
    for c in cases:
        row = f"| {c['title']} |"
        for t in threads_list:
            g, p = val(lookup(results, c["name"], "gas", t), "test"), val(lookup(results, c["name"], "pyg", t), "test")
            row += f" {fmt(g, 1)} | {fmt(p, 1)} |"
        lines.append(row)
    full_cases = [c for c in cases if c.get("full_too")]
    if full_cases:
        lines.append("")
        lines += ["| GAS / full-batch (gas) |" + "".join(f" GAS s ({t}) | full s ({t}) | ratio ({t}) |"
                                                        for t in threads_list),
                  "|---|" + "---|---|---|" * len(threads_list)]
        for c in full_cases:
            row = f"| {c['title']} |"
            for t in threads_list:
                g = val(lookup(results, c["name"], "gas", t), "epoch_s")
                f = val(lookup(results, c["name"], "gas-full", t), "epoch_s")
                row += f" {fmt(g)} | {fmt(f)} | {fmt(ratio(g, f), 2)} |"
            lines.append(row)
    failures = [r for r in results if not r.get("ok")]
    if notes or failures:
        lines.append("")
        for note in notes:
            lines.append(f"- {note}")
        for r in failures:
            lines.append(f"- FAILED {r['case']} {r['side']} at {r['threads']} thread(s): {r.get('error', '?')}")
    return "\n".join(lines)


def machine():
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        if m:
            model = m[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{model}, {os.cpu_count()} logical CPUs"


def gas_commit():
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_docs(path, body):
    path = pathlib.Path(path)
    text = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{body}\n{END}"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + f"{SECTION_TITLE}\n\n{block}\n"
    path.write_text(text)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--pyg-worker":
        try:
            res = pyg_worker(json.loads(sys.argv[2]))
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            sys.exit(1)
        print("RESULT " + json.dumps(res), flush=True)
        return

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gas-train", type=pathlib.Path, required=True, help="the gas-train binary")
    ap.add_argument("--data", type=pathlib.Path, default=REPO.parent / "shared" / "data", help="the datasets folder")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--epochs", type=int, default=0, help="epochs of every case (default: per case, see --list)")
    ap.add_argument("--only", default="", help="comma-separated case names or patterns (e.g. cora-gcn,'sbm-*')")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--json", type=pathlib.Path, help="write every measurement here")
    ap.add_argument("--write-docs", type=pathlib.Path, help="markdown file to update between the markers")
    ap.add_argument("--cache-dir", type=pathlib.Path, default=pathlib.Path(tempfile.gettempdir()) / "gas-compare-pyg",
                    help="where the generated SBM and the converted Amazon-Photo go (reused)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per measurement")
    ap.add_argument("--skip-gas", action="store_true", help="PyG side only (hyperparameters from the script)")
    ap.add_argument("--skip-pyg", action="store_true", help="gas side only")
    args = ap.parse_args()

    if args.list:
        for c in CASES:
            print(f"{c['name']:12s} {c['epochs']:4d} epochs  {c['title']}")
        return
    threads_list = [int(t) for t in args.threads.split(",") if t.strip()]
    cases = CASES
    if args.only:
        pats = [p.strip() for p in args.only.split(",") if p.strip()]
        cases = [c for c in CASES if any(fnmatch.fnmatchcase(c["name"], p) for p in pats)]
        if not cases:
            ap.error(f"--only {args.only}: no case matches (known: {', '.join(c['name'] for c in CASES)})")
    args.gas_train = args.gas_train.resolve()
    data_dir = args.data.resolve()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    work_dir = pathlib.Path(tempfile.mkdtemp(prefix="compare_pyg."))
    command = "python tools/compare_pyg.py " + " ".join(sys.argv[1:])
    print(f"gas-train: {args.gas_train}\ndata: {data_dir}\nlogs: {work_dir}\nthreads: {threads_list}", flush=True)

    results, notes = [], []
    for case in cases:
        # The dataset of each side.
        try:
            if case["data"] == "cora":
                cora = data_dir / "planetoid" / "cora"
                spec, kind, path = f"planetoid:{cora}", "planetoid", cora
            elif case["data"] == "photo":
                path, how = prepare_photo(data_dir, args.cache_dir)
                spec, kind = f"npz:{path}", "npz"
                print(f"[{case['name']}] Amazon-Photo with a split: {path} ({how})", flush=True)
            elif case["data"] == "sbm":
                path, how = prepare_sbm(args.cache_dir)
                spec, kind = SBM_SPEC, "npz"
                print(f"[{case['name']}] PyG's copy of {SBM_SPEC}: {path} ({how})", flush=True)
            else:
                raise ValueError(case["data"])
        except Exception as e:  # noqa: BLE001
            print(f"[{case['name']}] FAILED to prepare the data: {type(e).__name__}: {e}", flush=True)
            for t in threads_list:
                results.append(dict(side="pyg", case=case["name"], threads=t, ok=False, error=f"data: {e}"))
            continue
        for t in threads_list:
            gas_rec = None
            sides = [] if args.skip_gas else [False] + ([True] if case.get("full_too") else [])
            for full in sides:
                rec = run_gas(args, case, spec, t, full, work_dir)
                results.append(rec)
                if not full:
                    gas_rec = rec
                print(f"[{case['name']}] {rec['side']:8s} {t} thr: " +
                      (f"{rec['epoch_s']:.4f} s/epoch, peak {rec['peak_mib']:.0f} MiB, test {rec['test']:.1f} %"
                       if rec["ok"] else f"FAILED: {rec.get('error')}"), flush=True)
            if args.skip_pyg:
                continue
            h = pyg_hyper(case, gas_rec, notes)
            rec = run_pyg(args, case, kind, path, h, t)
            results.append(rec)
            if rec["ok"]:
                print(f"[{case['name']}] pyg      {t} thr: {rec['epoch_s']:.4f} s/epoch, net peak "
                      f"{rec['net_peak_mib']:.0f} MiB (whole {rec['peak_mib']:.0f}), test {rec['test']:.1f} % "
                      f"({rec['adj']}, {rec['nodes']} nodes, {rec['edges']} edges)", flush=True)
                if gas_rec and gas_rec.get("ok") and "nodes" in gas_rec:
                    same = (gas_rec["nodes"], gas_rec["edges"], gas_rec["features"]) == (
                        rec["nodes"], rec["edges"], rec["features"])
                    msg = (f"{case['name']}: gas and PyG graphs " +
                           ("agree" if same else "DIFFER") +
                           f" (gas {gas_rec['nodes']} nodes / {gas_rec['edges']} edges / {gas_rec['features']} "
                           f"features, PyG {rec['nodes']} / {rec['edges']} / {rec['features']})")
                    if not same or t == threads_list[0]:
                        print("  " + msg, flush=True)
                    if not same and msg not in notes:
                        notes.append(msg)
                if not rec.get("peak_reset"):
                    n = "PyG's peak could not be reset after loading (clear_refs); its net peak includes the import"
                    if n not in notes:
                        notes.append(n)
            else:
                print(f"[{case['name']}] pyg      {t} thr: FAILED: {rec.get('error')}", flush=True)

    pyg_ok = [r for r in results if r["side"] == "pyg" and r.get("ok")]
    versions = (f"torch {pyg_ok[0]['torch']}, torch_geometric {pyg_ok[0]['pyg']}, torch_sparse "
                f"{'installed' if pyg_ok[0]['torch_sparse'] else 'not installed'} (adjacency: "
                f"{', '.join(sorted({r['adj'] for r in pyg_ok}))})") if pyg_ok else "PyG did not run"
    meta = dict(date=datetime.date.today().isoformat(), machine=machine(), versions=versions, commit=gas_commit(),
                command=command, epochs={c["name"]: case_epochs(args, c) for c in cases})
    if any(c["data"] == "sbm" for c in cases):
        notes.insert(0, f"SBM: gas generates `{SBM_SPEC}`; PyG reads the same dataset from this script's numpy "
                        "re-implementation of gas's generator (node and edge counts are compared with gas-train's).")
    if any(c["data"] == "photo" for c in cases):
        notes.insert(0, "Amazon-Photo: no gas-train preset and no split in the gnn-benchmark file: both sides read "
                        "the script's copy with one split (20 / 30 / rest per class, numpy seed 12345), hyperparameters "
                        "from REFERENCE.md's GCN row as gas-train flags, raw features.")
    binaries = sorted({r["binary"] for r in results if r.get("binary")})
    if len(binaries) > 1:
        notes.append("gas-train CHANGED during the comparison (rebuilt?): " + "; ".join(binaries) +
                     "; its figures mix builds (per-run identity in --json)")
    loads = [r["load_before"] for r in results if "load_before" in r]
    # Our own previous run adds at most its thread count (<= the CPUs) to the 1-minute load average; more means
    # other processes competed for the cores.
    busy = [x for x in loads if x > (os.cpu_count() or 1) + 0.25]
    if busy:
        notes.append(f"the machine was busy: the 1-minute load average before {len(busy)} of {len(loads)} "
                     f"measurements exceeded its {os.cpu_count()} CPUs (max {max(busy):.1f}); those figures are "
                     "unreliable, rerun on an idle machine (per-run load in --json)")
    checked = [r for r in results if r["side"] == "pyg" and r.get("ok")]
    agree = [r for r in checked if (lambda g: g and g.get("ok") and (g.get("nodes"), g.get("edges"), g.get(
        "features")) == (r["nodes"], r["edges"], r["features"]))(lookup(results, r["case"], "gas", r["threads"]))]
    if checked and len(agree) == len(checked):
        notes.append("gas-train and the PyG side report the same node, edge (directed, no self-loops) and feature "
                     "counts in every case.")
    table = render(results, cases, threads_list, notes, meta)
    try:
        binary = str(args.gas_train.relative_to(REPO))
    except ValueError:
        binary = str(args.gas_train)
    header = (f"{meta['date']}, {meta['machine']}; gas {meta['commit']} ({binary}, GAS mode, "
              f"--preset paper on Cora, one run); {meta['versions']}. Epoch = median of the training steps of an epoch "
              f"(PyG: full-batch forward, backward and Adam step, after 2 warm-up epochs; gas: its JSON's "
              f"epoch_seconds_median). Ratio < 1: gas is faster.\n\n```sh\n{meta['command']}\n```\n")
    body = header + "\n" + table
    print("\n" + body, flush=True)
    if args.json:
        args.json.write_text(json.dumps(dict(meta=meta, notes=notes, results=results), indent=1))
    if args.write_docs:
        write_docs(args.write_docs, body)
        print(f"\nwrote {args.write_docs}", flush=True)


if __name__ == "__main__":
    main()
