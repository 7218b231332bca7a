#!/usr/bin/env python3
"""gas-inspect end to end: the figures for every real dataset, and exit status 1 with a message on bad input.

usage: inspect_check.py GAS_INSPECT DATA_DIR [good|bad]
Exit 77 (meson: skipped) when DATA_DIR is absent for the 'good' cases.
"""
import json
import os
import subprocess
import sys
import tempfile
import zipfile

# spec (relative to DATA_DIR) -> name, nodes, edges, features, classes, train, val, test (split 0);
# the figures of ../shared/data/README.md.
EXPECTED = {
    "planetoid:planetoid/cora": ("cora", 2708, 10556, 1433, 7, 140, 500, 1000),
    "npz:gnn-benchmark/cora.npz": ("cora", 2708, 10556, 1433, 7, 0, 0, 0),
    "npz:gnn-benchmark/amazon_electronics_photo.npz": ("amazon_electronics_photo", 7650, 238162, 745, 8, 0, 0, 0),
    "npz:gnn-benchmark/ms_academic_cs.npz": ("ms_academic_cs", 18333, 163788, 6805, 15, 0, 0, 0),
    "npz:heterophilous/minesweeper.npz": ("minesweeper", 10000, 78804, 7, 2, 5000, 2500, 2500),
    "npz:heterophilous/chameleon_filtered.npz": ("chameleon_filtered", 890, 17708, 2325, 5, 409, 287, 194),
    "npz:heterophilous/squirrel_filtered.npz": ("squirrel_filtered", 2223, 93996, 2089, 5, 1053, 718, 452),
    "npz:heterophilous/actor.npz": ("actor", 7600, 53318, 932, 5, 3648, 2432, 1520),
    "dimacs:road/NY.gr.xz": ("NY", 264346, 730100, 0, 0, 0, 0, 0),
    "dimacs:road/FLA.gr.xz": ("FLA", 1070376, 2687902, 0, 0, 0, 0, 0),
    "dimacs:road/NE.gr.xz": ("NE", 1524453, 3868020, 0, 0, 0, 0, 0),
}
KEYS = ("name", "nodes", "edges", "features", "classes", "train", "val", "test")


def run(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)


def mask_rows(archive, key, rows, cols):
    """Per-row counts of a (rows, cols) bool array stored as KEY.npy in an npz: numpy's format read by hand."""
    raw = archive.read(key + ".npy")
    length = int.from_bytes(raw[8:10], "little")
    header = raw[10:10 + length].decode("latin1")
    if "'|b1'" not in header or f"({rows}, {cols})" not in header:
        raise ValueError(f"{key}: header {header.strip()}")
    body = raw[10 + length:]
    return [sum(body[i * cols:(i + 1) * cols]) for i in range(rows)]


def check_splits(exe, data, tmp):
    """Split protocols: per-class splits drawn for Amazon-Photo (sizes in the JSON and in the exported masks), the
    stored splits of minesweeper, and the errors for a split that does not exist or a dataset without one."""
    failures = 0
    photo = os.path.join(data, "gnn-benchmark/amazon_electronics_photo.npz")
    out, masks = os.path.join(tmp, "photo.json"), os.path.join(tmp, "photo-splits.npz")
    r = run(exe, "npz:" + photo, "--split", "per-class:train=20,val=30,count=3", "--export-splits", masks, "--json", out)
    got = json.load(open(out)) if r.returncode == 0 else {}
    want = {"splits": 3, "split_protocol": "per-class:train=20,val=30,count=3,seed=0", "split_train": [160] * 3,
            "split_val": [240] * 3, "split_test": [7250] * 3}
    bad = {k: got.get(k) for k, v in want.items() if got.get(k) != v}
    if r.returncode != 0 or bad:
        print(f"FAIL --split per-class on Amazon-Photo: exit {r.returncode} {r.stderr.strip()} {bad}")
        failures += 1
    else:
        with zipfile.ZipFile(masks) as z:
            counts = [mask_rows(z, k, 3, 7650) for k in ("train_masks", "val_masks", "test_masks")]
        if counts != [[160] * 3, [240] * 3, [7250] * 3]:
            print(f"FAIL --export-splits: mask counts {counts}")
            failures += 1
        else:
            print("ok   --split per-class:train=20,val=30,count=3 --export-splits: 160 / 240 / 7250 x 3")
    mine = os.path.join(data, "heterophilous/minesweeper.npz")
    r = run(exe, "npz:" + mine, "--json", out)
    got = json.load(open(out)) if r.returncode == 0 else {}
    if got.get("split_train") != [5000] * 10:
        print(f"FAIL minesweeper's 10 stored splits: {got.get('split_train')}")
        failures += 1
    for args, message in ((["npz:" + mine, "--split", "10"], "split 10 does not exist"),
                          (["npz:" + os.path.join(data, "gnn-benchmark/cora.npz"), "--export-splits", masks],
                           "no stored split"),
                          (["npz:" + photo, "--split", "per-class:train=400,val=30"], "fewer than train 400"),
                          (["npz:" + photo, "--split", "per-class:train=20"], "needs both train= and val=")):
        r = run(exe, *args)
        if r.returncode != 1 or message not in r.stderr:
            print(f"FAIL {' '.join(args[1:])}: exit {r.returncode}, {r.stderr.strip()!r}")
            failures += 1
        else:
            print(f"ok   {' '.join(args[1:])}: {r.stderr.strip()}")
    return failures


def good(exe, data):
    if not os.path.isdir(data):
        print(f"{data} is absent: skipping the real-data checks")
        return 77
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for spec, expected in EXPECTED.items():
            kind, path = spec.split(":", 1)
            out = os.path.join(tmp, "out.json")
            r = run(exe, f"{kind}:{os.path.join(data, path)}", "--json", out)
            if r.returncode != 0:
                print(f"FAIL {spec}: exit {r.returncode}: {r.stderr.strip()}")
                failures += 1
                continue
            got = json.load(open(out))
            for key, want in zip(KEYS, expected):
                if want is not None and got[key] != want:
                    print(f"FAIL {spec}: {key} = {got[key]}, expected {want}")
                    failures += 1
            print(f"ok   {spec}: " + ", ".join(f"{k}={got[k]}" for k in KEYS))
        # Bag-of-words features load sparse (CSR) by default, dense on request; the same values either way.
        cora = os.path.join(data, "planetoid/cora")
        for flag, sparse, bytes_below in (("auto", True, 1 << 20), ("never", False, None)):
            out = os.path.join(tmp, "cora-" + flag + ".json")
            r = run(exe, "planetoid:" + cora, "--sparse-features", flag, "--json", out)
            got = json.load(open(out)) if r.returncode == 0 else {}
            want_nnz = 49216 if sparse else 2708 * 1433
            if (got.get("sparse_features") != sparse or got.get("feature_nonzeros") != want_nnz
                    or (bytes_below and got.get("feature_bytes", bytes_below) >= bytes_below)):
                print(f"FAIL --sparse-features {flag}: exit {r.returncode}, {got.get('sparse_features')}, "
                      f"{got.get('feature_nonzeros')} values, {got.get('feature_bytes')} bytes")
                failures += 1
            else:
                print(f"ok   --sparse-features {flag}: {got['feature_nonzeros']} values, {got['feature_bytes']} bytes")
        failures += check_splits(exe, data, tmp)
        # Partition and loader figures: on Cora, 40 parts, batch 10, METIS cuts well under half of Random's edges.
        cora = os.path.join(data, "planetoid/cora")
        cut = {}
        for kind in ("metis", "random"):
            out = os.path.join(tmp, kind + ".json")
            r = run(exe, "planetoid:" + cora, "--partition", kind + ":40", "--batch-size", "10", "--json", out)
            if r.returncode != 0:
                print(f"FAIL --partition {kind}:40: {r.stderr.strip()}")
                failures += 1
                continue
            got = json.load(open(out))
            cut[kind] = got["edge_cut_fraction"]
            for key, want in (("parts", 40), ("batches_per_epoch", 4), ("mean_batch_nodes", 677)):
                if got[key] != want:
                    print(f"FAIL --partition {kind}:40: {key} = {got[key]}, expected {want}")
                    failures += 1
            for key in ("edge_cut", "largest_part", "smallest_part", "partition_seconds", "max_batch_nodes",
                        "mean_halo_nodes", "max_halo_nodes"):
                if key not in got:
                    print(f"FAIL --partition {kind}:40: no {key}")
                    failures += 1
            print(f"ok   --partition {kind}:40 --batch-size 10: cut {got['edge_cut_fraction']:.4f}, "
                  f"halo mean {got['mean_halo_nodes']} max {got['max_halo_nodes']}")
        if len(cut) == 2 and not cut["metis"] < 0.5 * cut["random"]:
            print(f"FAIL METIS cut {cut['metis']} is not below half of Random's {cut['random']}")
            failures += 1
        # The built-in synthetic dataset needs no files.
        r = run(exe, "sbm:nodes=500,classes=4,features=8,seed=3", "--json", os.path.join(tmp, "sbm.json"))
        got = json.load(open(os.path.join(tmp, "sbm.json"))) if r.returncode == 0 else {}
        if got.get("nodes") != 500 or got.get("classes") != 4 or got.get("features") != 8:
            print(f"FAIL sbm: {r.returncode} {got} {r.stderr.strip()}")
            failures += 1
        # The model of scale of distributed GAS: one rank exchanges nothing; two share the history memory.
        out = os.path.join(tmp, "scale.json")
        r = run(exe, "sbm:nodes=3000,classes=4,features=8,seed=3", "--partition", "metis:8", "--batch-size", "2",
                "--ranks", "1,2", "--hidden", "16", "--layers", "3", "--json", out)
        got = json.load(open(out)).get("distributed", {}) if r.returncode == 0 else {}
        one, two = got.get("ranks_1", {}), got.get("ranks_2", {})
        if (r.returncode != 0 or one.get("max_bytes_per_step") != 0 or one.get("history_bytes") != [3000 * 16 * 2 * 4]
                or len(two.get("history_bytes", [])) != 2 or sum(two["history_bytes"]) != 3000 * 16 * 2 * 4
                or not two.get("max_bytes_per_step", 0) > 0):
            print(f"FAIL --ranks 1,2: {r.returncode} {got} {r.stderr.strip()}")
            failures += 1
        else:
            print(f"ok   --ranks 1,2: {two['max_bytes_per_step']:.0f} bytes per step at 2 ranks")
    print(f"{failures} failures")
    return 1 if failures else 0


def bad(exe, _data):
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        garbage = os.path.join(tmp, "garbage.gr.xz")
        with open(garbage, "wb") as f:
            f.write(b"\xfd7zXZ\x00 this is not xz data")
        text = os.path.join(tmp, "bad.txt")
        with open(text, "w") as f:
            f.write("0 1\n1 two\n")
        cases = [
            (["nosuchkind:x"], "unknown kind"),
            (["planetoid:" + os.path.join(tmp, "missing")], "missing"),
            (["npz:" + os.path.join(tmp, "missing.npz")], "missing.npz"),
            (["dimacs:" + garbage], "garbage.gr.xz"),
            (["edgelist:" + text], "bad.txt"),
            (["sbm:nodes=-5"], "nodes"),
            (["sbm:bogus=1"], "bogus"),
            (["sbm", "--partition", "kahip:4"], "kahip"),
            (["sbm", "--partition", "metis:0"], "metis:0"),
            (["sbm:nodes=10,degree=2", "--partition", "metis:11"], "11"),
            (["sbm", "--batch-size", "x"], "--batch-size"),
            (["sbm", "--sparse-features", "maybe"], "--sparse-features"),
            (["sbm", "--ranks", "2"], "--partition"),
            (["sbm", "--partition", "metis:4", "--ranks", "0"], "--ranks"),
            (["sbm", "--partition", "metis:4", "--ranks", "2,x"], "--ranks"),
            (["sbm:nodes=400", "--partition", "metis:4", "--ranks", "5"], "5 ranks for 4 parts"),
        ]
        for args, fragment in cases:
            r = run(exe, *args)
            if r.returncode != 1 or fragment not in r.stderr:
                print(f"FAIL {args}: exit {r.returncode}, stderr {r.stderr.strip()!r} (wanted exit 1 naming {fragment!r})")
                failures += 1
            else:
                print(f"ok   {args}: {r.stderr.strip()}")
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    exe, data, mode = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "good"
    sys.exit(good(exe, data) if mode == "good" else bad(exe, data))
