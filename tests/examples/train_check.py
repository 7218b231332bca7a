#!/usr/bin/env python3
"""gas-train end to end: a short run writes the promised JSON; bad configurations exit with a message naming the
cause and leave an existing --json file untouched.

usage: train_check.py GAS_TRAIN DATA_DIR [good|bad]
       train_check.py GAS_TRAIN_CUDA DATA_DIR gpu
       train_check.py CUSTOM_MODEL DATA_DIR custom
"""
import json
import math
import os
import subprocess
import sys
import tempfile

SMALL = ["--dataset", "sbm:nodes=600,classes=3,features=8,seed=2", "--num-parts", "6", "--batch-size", "2",
         "--epochs", "15"]
KEYS = ("dataset", "model", "mode", "runs", "metric", "test_mean", "test_std", "val_mean", "epochs",
        "epoch_seconds_median", "train_seconds", "peak_rss_mb")


def run(exe, *args):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=600)


def good(exe, data):
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for mode, model in (("gas", "gcn"), ("full", "gcn"), ("gas", "gat"), ("gas", "appnp"), ("gas", "gcnii"),
                            ("gas", "gin"), ("gas", "pna"), ("gas", "pna_jk")):
            out = os.path.join(tmp, f"{model}_{mode}.json")
            r = run(exe, *SMALL, "--model", model, "--mode", mode, "--runs", "2", "--seed", "3", "--json", out)
            if r.returncode != 0:
                print(f"FAIL {model} {mode}: exit {r.returncode}\n{r.stdout}{r.stderr}")
                failures += 1
                continue
            j = json.load(open(out))
            missing = [k for k in KEYS if k not in j]
            problems = []
            if missing:
                problems.append(f"missing keys {missing}")
            else:
                if (j["model"], j["mode"], j["runs"], j["metric"], j["epochs"]) != (model, mode, 2, "accuracy", 15):
                    problems.append(f"header {j['model']} {j['mode']} {j['runs']} {j['metric']} {j['epochs']}")
                if not (0 <= j["test_mean"] <= 100 and j["test_std"] >= 0 and 0 <= j["val_mean"] <= 100):
                    problems.append(f"metrics {j['test_mean']} {j['test_std']} {j['val_mean']}")
                if len(j["test"]) != 2 or abs(sum(j["test"]) / 2 - j["test_mean"]) > 1e-6:
                    problems.append(f"per-run tests {j['test']} vs mean {j['test_mean']}")
                if not (j["epoch_seconds_median"] > 0 and j["train_seconds"] > 0 and j["peak_rss_mb"] > 0):
                    problems.append("non-positive times or memory")
            if problems:
                print(f"FAIL {model} {mode}: {'; '.join(problems)}")
                failures += 1
            else:
                print(f"ok   {model} {mode}: test {j['test_mean']:.1f} +- {j['test_std']:.1f}")
        # The same seed gives the same run, bit for bit.
        a, b = (os.path.join(tmp, f"repeat{i}.json") for i in range(2))
        for path in (a, b):
            run(exe, *SMALL, "--seed", "5", "--json", path)
        ja, jb = json.load(open(a)), json.load(open(b))
        if ja["test"] != jb["test"] or ja["val"] != jb["val"] or ja["best_epoch"] != jb["best_epoch"]:
            print(f"FAIL same seed, different runs: {ja['test']} vs {jb['test']}")
            failures += 1
        failures += protocols(exe, data, tmp)
    return 1 if failures else 0


def protocols(exe, data, tmp):
    """Split protocols end to end: generated splits on the SBM, the heterophilous 10 splits with ROC-AUC, the
    reference's per-class protocol for Amazon-Photo under --preset paper (runs shortened)."""
    out = os.path.join(tmp, "protocol.json")
    cases = [([*SMALL, "--split", "random:train=0.5,val=0.25,seed=4", "--runs", "3"],
              {"split": "random:train=0.5,val=0.25,count=3,seed=4", "splits": 3, "run_split": [0, 1, 2],
               "metric": "accuracy"})]
    mine = os.path.join(data, "heterophilous", "minesweeper.npz")
    photo = os.path.join(data, "gnn-benchmark", "amazon_electronics_photo.npz")
    if os.path.isfile(mine):
        cases.append((["--dataset", f"npz:{mine}", "--split", "all", "--runs", "3", "--epochs", "5"],
                      {"split": "all", "splits": 10, "run_split": [0, 1, 2], "metric": "roc_auc"}))
        cases.append((["--dataset", f"npz:{mine}", "--split", "7", "--runs", "2", "--epochs", "5", "--metric", "accuracy"],
                      {"split": "7", "run_split": [7, 7], "metric": "accuracy"}))
    if os.path.isfile(photo):
        cases.append((["--dataset", f"npz:{photo}", "--preset", "paper", "--runs", "2", "--epochs", "5"],
                      {"split": "per-class:train=20,val=30,count=2,seed=0", "splits": 2, "run_split": [0, 1],
                       "preset": "paper"}))
    failures = first_run(exe, tmp)
    for args, want in cases:
        r = run(exe, *args, "--json", out)
        got = json.load(open(out)) if r.returncode == 0 else {}
        bad = {k: got.get(k) for k, v in want.items() if got.get(k) != v}
        if r.returncode != 0 or bad or len(got.get("test", [])) != len(want["run_split"]):
            print(f"FAIL {args}: exit {r.returncode} {r.stderr.strip()!r}, differs: {bad}")
            failures += 1
        else:
            print(f"ok   {' '.join(args[-6:])}: {got['metric']} {got['test']}")
    return failures


def first_run(exe, tmp):
    """--first-run 2 --runs 3 trains exactly runs 2 and 3 of --runs 3 (seeds and splits), so spread runs merge."""
    whole, tail = os.path.join(tmp, "whole.json"), os.path.join(tmp, "tail.json")
    args = [*SMALL, "--split", "random:train=0.5,val=0.25,seed=4", "--runs", "3"]
    rw, rt = run(exe, *args, "--json", whole), run(exe, *args, "--first-run", "2", "--json", tail)
    if rw.returncode != 0 or rt.returncode != 0:
        print(f"FAIL --first-run: exit {rw.returncode} / {rt.returncode} {rt.stderr.strip()!r}")
        return 1
    w, t = json.load(open(whole)), json.load(open(tail))
    same = all(w[k][1:] == t[k] for k in ("test", "val", "best_epoch", "run_split"))
    if not same or t["first_run"] != 2 or t["runs"] != 2 or w["first_run"] != 1:
        print(f"FAIL --first-run 2: {t['test']} {t['run_split']} against runs 2-3 of {w['test']} {w['run_split']}")
        return 1
    print(f"ok   --first-run 2 of 3: {t['test']} == {w['test'][1:]}")
    return 0


def bad(exe, data):
    """(arguments, exit status, text the message must contain); None skips a case whose data is absent."""
    cora_npz = os.path.join(data, "gnn-benchmark", "cora.npz")
    with tempfile.TemporaryDirectory() as tmp:
        edges = os.path.join(tmp, "edges.txt")
        with open(edges, "w") as f:
            f.write("0 1\n1 2\n2 0\n")
        cases = [
            (["--model", "graphsage"], 2, "unknown model 'graphsage'"),
            (["--preset", "best"], 2, "unknown preset 'best'"),
            (["--epochs", "-3"], 2, "--epochs"),
            (["--dropout", "1.5"], 2, "--dropout"),
            (["--bogus", "1"], 2, "unknown flag '--bogus'"),
            (["--dataset", f"edgelist:{edges}", "--epochs", "1"], 2, "no targets"),
            (["--dataset", "sbm:nodes=300,classes=3,features=4,train=0,val=0", "--epochs", "1", "--num-parts", "4"],
             2, "each must be non-empty"),
            (["--dataset", "sbm:nodes=100,classes=2,features=4", "--num-parts", "500", "--epochs", "1"], 1,
             "partition_error: "),
            (["--dataset", "nosuchkind:x"], 2, "unknown kind 'nosuchkind'"),
            (["--history-store", "tape"], 2, "is not pinned, zero-copy, bf16, device, host or mapped"),
            (["--history-io", "async"], 2, "neither sync nor overlapped"),
            (["--sparse-features", "maybe"], 2, "not auto, always or never"),
            (["--history-store", "device", "--epochs", "1"], 2, "needs gas-train-cuda"),
            (["--history-io", "overlapped", "--epochs", "1"], 2, "needs gas-train-cuda"),
            (["--dataset", "planetoid:" + os.path.join(tmp, "missing"), "--epochs", "1"], 1, "io_error: "),
            # Presets never guess; signed features are not row-normalized; splits and metrics must exist and fit.
            (["--preset", "paper", "--epochs", "1"], 2, "no configuration for dataset 'sbm'"),
            (["--model", "gin", "--preset", "paper", "--dataset", "sbm:nodes=100,classes=2,features=4"], 2,
             "no configuration for dataset"),
            (["--row-normalize", "true", "--epochs", "1"], 2, "is negative"),
            (["--split", "3", "--epochs", "1"], 2, "split 3 does not exist"),
            (["--split", "per-class:train=5000,val=30", "--epochs", "1"], 2, "fewer than train 5000"),
            (["--split", "per-class:val=30"], 2, "needs both train= and val="),
            (["--metric", "micro_f1", "--epochs", "1"], 2, "micro_f1 scores multi-label targets only"),
            (["--metric", "roc_auc", "--epochs", "1"], 2, "roc_auc needs two classes"),
            (["--metric", "auc"], 2, "unknown metric 'auc'"),
            (["--runs", "3", "--first-run", "4"], 2, "--first-run 4 is past --runs 3"),
        ]
        if os.path.isfile(cora_npz):
            cases.append((["--dataset", f"npz:{cora_npz}", "--epochs", "1"], 2, "split"))
        else:
            print(f"{cora_npz} is absent: skipping the real dataset without a split")
        failures = 0
        saved = os.path.join(tmp, "saved.json")
        for args, status, text in cases:
            with open(saved, "w") as f:
                f.write('{"kept": true}\n')
            r = run(exe, *args, "--json", saved)
            message = r.stderr
            kept = open(saved).read() == '{"kept": true}\n'
            if r.returncode != status or text not in message or not message.startswith("gas-train: ") or not kept:
                print(f"FAIL {args}: exit {r.returncode} (want {status}), stderr {message!r}, json kept: {kept}")
                failures += 1
            else:
                print(f"ok   {args}: {message.strip()}")
        # An unwritable --json path is an io_error after training, naming the file.
        r = run(exe, *SMALL, "--epochs", "1", "--json", os.path.join(tmp, "no", "such", "dir", "out.json"))
        if r.returncode != 1 or "out.json" not in r.stderr or "io_error" not in r.stderr:
            print(f"FAIL unwritable --json: exit {r.returncode}, stderr {r.stderr!r}")
            failures += 1
    return 1 if failures else 0


def have_gpu():
    """An NVIDIA GPU is visible (its device nodes exist, or nvidia-smi lists one)."""
    if os.path.exists("/dev/nvidiactl") or os.path.exists("/dev/nvidia0"):
        return True
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def gpu(exe, data):
    """gas-train-cuda: with a GPU, the checks of `good`; without one, a clean cuda_error exit, then skipped (77)."""
    if have_gpu():
        failures = good(exe, data)
        # Every history store, overlapped and synchronous, trains and reports the pipeline's counters.
        for store in ["pinned", "zero-copy", "bf16", "device", "host", "mapped"]:
            for io in ["overlapped", "sync"]:
                with tempfile.TemporaryDirectory() as tmp:
                    out = os.path.join(tmp, "run.json")
                    r = run(exe, *SMALL, "--epochs", "3", "--history-store", store, "--history-io", io, "--json", out)
                    ok = r.returncode == 0 and os.path.isfile(out)
                    if ok:
                        with open(out) as f:
                            j = json.load(f)
                        ok = j["history_store"] == store and j["history_io"] == io and math.isfinite(j["test_mean"])
                        ok = ok and (io == "sync" or j["run_history_bytes"][0] > 0)
                    if not ok:
                        print(f"FAIL --history-store {store} --history-io {io}: exit {r.returncode} {r.stderr!r}")
                        failures += 1
        return 1 if failures else 0
    r = run(exe, *SMALL, "--epochs", "1")
    if r.returncode != 1 or not r.stderr.startswith("gas-train: cuda_error: "):
        print(f"FAIL without a GPU: exit {r.returncode} (want 1), stderr {r.stderr!r}")
        return 1
    print(f"no GPU: {r.stderr.strip()} (as it should); skipped")
    return 77


def custom(exe, data):
    """examples/custom_model.cpp: a user-defined model trained by the Trainer learns the SBM graph."""
    r = run(exe, "--epochs", "30")
    print(r.stdout + r.stderr)
    if r.returncode != 0:
        return 1
    test = float(r.stdout.rsplit("test ", 1)[1].split(",")[0])
    if test <= 0.85:
        return 1
    # Cora's bag-of-words features are sparse: the model's root rows (a row slice of the input) must still work.
    cora = os.path.join(data, "planetoid", "cora")
    if os.path.isdir(cora):
        r = run(exe, "planetoid:" + cora, "--epochs", "30")
        print(r.stdout + r.stderr)
        if r.returncode != 0:
            return 1
    return 0


def main():
    exe, data, which = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.exit({"good": good, "bad": bad, "gpu": gpu, "custom": custom}[which](exe, data))


if __name__ == "__main__":
    main()
