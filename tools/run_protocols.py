#!/usr/bin/env python3
"""GAS against full-batch training on the published split protocols (issue 15): Amazon-Photo and Coauthor-CS with
`--preset paper` (per-class 20 / 30 random splits, run r on split r) and the heterophilous datasets on their 10
stored splits (`--split all`), each beside full-batch training on the very same splits: ours (`--mode full`) and,
when a Python with torch_geometric is given, PyG's (tools/pyg_fullbatch.py).

    python3 tools/run_protocols.py --gas-train build/examples/gas-train --gas-inspect build/examples/gas-inspect \\
        --data ../shared/data [--pyg-python ../pyg-venv/bin/python] [--only 'photo-*'] [--runs 10] \\
        [--runs-for gcnii=3] [--part K-L] [--jobs 2] [--write-docs docs/results.md]

Every job writes results/<dataset>/<model>_<gas|full|pyg>.{json,log} (and a per-epoch log for gas-train, gzipped:
.jsonl.gz);
a job whose JSON exists is not run again (--force reruns), so the script can be stopped and resumed, and
`--render-only` rewrites the table from the kept files. Each job runs with OMP_NUM_THREADS=--threads (1); --jobs run
side by side. The splits PyG trains on are exported by `gas-inspect --split <the JSON's protocol> --export-splits`,
so both libraries score the same nodes. Standard library only; CI never runs this.
"""

import argparse
import concurrent.futures
import datetime
import fnmatch
import gzip
import json
import os
import pathlib
import platform
import shutil
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (case name, results folder, spec relative to --data, models, extra gas-train flags)
DATASETS = [
    ("photo", "amazon_electronics_photo", "npz:{data}/gnn-benchmark/amazon_electronics_photo.npz",
     ["gcn", "appnp", "gcnii"], ["--preset", "paper"]),
    ("cs", "ms_academic_cs", "npz:{data}/gnn-benchmark/ms_academic_cs.npz",
     ["gcn", "gat", "appnp", "gcnii"], ["--preset", "paper"]),
    # Heterophilous: no reference configuration; GCN 2 x 64 (gas-train's defaults otherwise) on the 10 stored splits.
    ("minesweeper", "minesweeper", "npz:{data}/heterophilous/minesweeper.npz", ["gcn"],
     ["--split", "all", "--hidden", "64", "--epochs", "300"]),
    ("chameleon", "chameleon_filtered", "npz:{data}/heterophilous/chameleon_filtered.npz", ["gcn"],
     ["--split", "all", "--hidden", "64", "--epochs", "300"]),
    ("squirrel", "squirrel_filtered", "npz:{data}/heterophilous/squirrel_filtered.npz", ["gcn"],
     ["--split", "all", "--hidden", "64", "--epochs", "300"]),
    ("actor", "actor", "npz:{data}/heterophilous/actor.npz", ["gcn"],
     ["--split", "all", "--hidden", "64", "--epochs", "300"]),
]
NAMES = {"gcn": "GCN", "gat": "GAT", "appnp": "APPNP", "gcnii": "GCNII"}
TITLES = {"photo": "Amazon-Photo", "cs": "Coauthor-CS", "minesweeper": "minesweeper", "chameleon": "chameleon (filtered)",
          "squirrel": "squirrel (filtered)", "actor": "actor"}


def run(cmd, log, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="passive")
    with open(log, "w") as f:
        f.write("$ " + " ".join(str(c) for c in cmd) + "\n")
        f.flush()
        proc = subprocess.run([str(c) for c in cmd], env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}; see {log}")


def gas_job(args, case, folder, spec, model, flags, mode, runs, first=1):
    """Runs first..runs of a job (1-based); a part (first > 1) goes to <model>_<mode>.runs<first>-<runs>.*, for
    merge_parts to append to the runs before it."""
    out = args.out_dir / folder
    out.mkdir(parents=True, exist_ok=True)
    stem = out / (f"{model}_{mode}" if first == 1 else f"{model}_{mode}.runs{first}-{runs}")
    at = lambda ext: pathlib.Path(str(stem) + ext)  # not with_suffix: a part's stem has a dot of its own
    if at(".json").exists() and not args.force:
        return f"{case}-{model}-{mode}: kept"
    cmd = [args.gas_train, "--dataset", spec, "--model", model, "--mode", mode, "--runs", runs, "--seed", args.seed,
           "--json", at(".json"), "--log", at(".jsonl"), "--log-every", 50] + flags
    if first > 1:
        cmd += ["--first-run", first]
        kept = out / f"{model}_{mode}.json"
        split = json.loads(kept.read_text())["split"] if kept.exists() else ""
        if "--split" not in flags and ":" in split:
            # A generated protocol counts --runs splits; split k is drawn from (seed, k) alone, so a part that ends
            # before run --runs names the whole protocol's count, for the same split text.
            cmd += ["--split", without_count(split) + f",count={args.runs}"]
    run(cmd, at(".log"), args.threads)
    # The per-epoch log compresses tenfold; `gunzip -k` it for gas-plot.
    with open(at(".jsonl"), "rb") as src, gzip.open(at(".jsonl.gz"), "wb", 9) as dst:
        shutil.copyfileobj(src, dst)
    at(".jsonl").unlink()
    return f"{case}-{model}-{mode}: done"


PER_RUN = ("test", "val", "best_epoch", "run_split", "run_train_seconds", "run_epoch_seconds_median",
           "run_history_bytes", "run_copy_busy_ms", "run_host_waits_per_step", "run_peak_device_mb")


def without_count(split):
    return ",".join(p for p in split.split(",") if not p.startswith("count="))


def merge_parts(folder, model, mode):
    """Appends <model>_<mode>.runsK-L.json parts (gas-train --first-run K --runs L) to <model>_<mode>.json when they
    continue its runs exactly: same configuration, same protocol (splits do not depend on their count), run K
    following the last kept run. The summary is recomputed from the per-run figures (the epoch median from the
    per-epoch logs); logs are concatenated. Returns what it merged."""
    base = folder / f"{model}_{mode}.json"
    merged = []
    while base.exists():
        j = json.loads(base.read_text())
        have = j["first_run"] - 1 + j["runs"] if "first_run" in j else j["runs"]
        parts = sorted(folder.glob(f"{model}_{mode}.runs{have + 1}-*.json"))
        if not parts:
            break
        part = parts[0]
        p = json.loads(part.read_text())
        same = {k: (j[k], p[k]) for k in ("dataset", "model", "mode", "seed", "metric", "epochs", "hyperparameters")
                if j[k] != p[k]}
        if without_count(j["split"]) != without_count(p["split"]):
            same["split"] = (j["split"], p["split"])
        if same or p.get("interrupted"):
            raise RuntimeError(f"{part} does not continue {base}: differs in {same or 'interrupted'}")
        for k in PER_RUN:
            j[k] = j[k] + p[k]
        n = len(j["test"])
        j["runs"], j["runs_asked"], j["first_run"] = n, max(n, j["runs_asked"]), 1
        j["splits"] = max(j["splits"], p["splits"])
        j["split"] = p["split"] if "count=" in p["split"] else j["split"]
        j["test_mean"] = statistics.fmean(j["test"])
        j["test_std"] = statistics.stdev(j["test"]) if n > 1 else 0.0
        j["val_mean"] = statistics.fmean(j["val"])
        j["train_seconds"] = statistics.fmean(j["run_train_seconds"])
        j["peak_rss_mb"] = max(j["peak_rss_mb"], p["peak_rss_mb"])
        stem, pstem = base.with_suffix(""), part.with_suffix("")
        logs = [pathlib.Path(str(x) + ".jsonl.gz") for x in (stem, pstem)]
        if all(x.exists() for x in logs):
            with gzip.open(logs[0], "ab", 9) as dst, gzip.open(logs[1], "rb") as src:
                shutil.copyfileobj(src, dst)
            with gzip.open(logs[0], "rt") as f:
                j["epoch_seconds_median"] = statistics.median(json.loads(line)["seconds"] for line in f if line.strip())
        else:
            j["epoch_seconds_median"] = statistics.median(j["run_epoch_seconds_median"])
        with open(str(stem) + ".log", "a") as dst:
            dst.write(pathlib.Path(str(pstem) + ".log").read_text())
        base.write_text(json.dumps(j, indent=1) + "\n")
        for x in (part, logs[1], pathlib.Path(str(pstem) + ".log")):
            x.unlink(missing_ok=True)
        merged.append(part.name)
    return merged


def pyg_job(args, case, folder, spec, model):
    out = args.out_dir / folder
    like = out / f"{model}_full.json"
    if not like.exists():
        like = out / f"{model}_gas.json"
    target = out / f"{model}_pyg.json"
    if target.exists() and not args.force:
        return f"{case}-{model}-pyg: kept"
    j = json.loads(like.read_text())
    splits = out / f"splits_{j['split'].replace(':', '_').replace(',', '_').replace('=', '')}.npz"
    if not splits.exists():
        run([args.gas_inspect, spec, "--split", j["split"], "--export-splits", splits], out / "splits.log", 1)
    run([args.pyg_python, ROOT / "tools" / "pyg_fullbatch.py", "--like", like, "--splits", splits,
         "--data", spec.split(":", 1)[1], "--threads", args.threads, "--out", target], out / f"{model}_pyg.log", 1)
    return f"{case}-{model}-pyg: done"


def fmt(r):
    if r is None:
        return "-"
    return f"{r['test_mean']:.2f} +- {r['test_std']:.2f}" + ("" if r["runs"] >= 10 else f" ({r['runs']} runs)")


def load(path):
    return json.loads(path.read_text()) if path.exists() else None


def render(args):
    lines = ["<!-- protocols:begin (tools/run_protocols.py writes this section) -->", "",
             "## Beyond Cora: the published split protocols, GAS beside full-batch training", "",
             "Produced by `tools/run_protocols.py` (command below). Test metric at the best validation epoch, mean +-",
             "sample standard deviation over the runs, in percent; run r trains on split r (Amazon and Coauthor: the",
             "reference's per-class random splits, 20 train and 30 validation nodes per class, the rest test, drawn by",
             "`--split per-class:train=20,val=30` with seed 0; heterophilous datasets: their 10 stored splits, `--split",
             "all`). GAS and full: gas-train with the same hyperparameters (`--preset paper`), `--mode gas` and `--mode",
             "full`; PyG: tools/pyg_fullbatch.py, PyG's full-batch model with the same hyperparameters, splits and run",
             "seeds (its splits exported by `gas-inspect --export-splits`). s / epoch: median training step of gas-train",
             "(GAS / full), one CPU thread per job, evaluation excluded. JSON files, logs and per-epoch logs (.jsonl.gz,",
             "`gunzip -k` for gas-plot): results/<dataset>/.",
             "The heterophilous datasets have no reference configuration: GCN with gas-train's defaults (2 layers,",
             "dropout 0.5, lr 0.01, weight decay 5e-4, 40 METIS parts taken 10 at a time) but hidden 64 and 300 epochs;",
             "minesweeper is scored by ROC-AUC, its published metric, the others by accuracy.", "",
             "| dataset | model | metric | GAS | full (gas) | full (PyG) | GAS - full | s / epoch GAS / full | epochs |",
             "|---|---|---|---|---|---|---|---|---|"]
    per_run = []
    for case, folder, _, models, _ in DATASETS:
        for m in models:
            out = args.out_dir / folder
            g, f, p = load(out / f"{m}_gas.json"), load(out / f"{m}_full.json"), load(out / f"{m}_pyg.json")
            if g is None and f is None:
                continue
            diff = f"{g['test_mean'] - f['test_mean']:+.2f}" if g and f else "-"
            secs = " / ".join(f"{r['epoch_seconds_median']:.4f}" if r else "-" for r in (g, f))
            metric = (g or f)["metric"]
            epochs = (g or f)["epochs"]
            lines.append(f"| {TITLES[case]} | {NAMES[m]} | {metric} | {fmt(g)} | {fmt(f)} | {fmt(p)} | {diff} | {secs} | {epochs} |")
            for label, r in (("GAS", g), ("full", f), ("PyG", p)):
                if r:
                    per_run.append(f"- {TITLES[case]} {NAMES[m]} {label}: " + ", ".join(f"{t:.1f}" for t in r["test"]))
    meta = load(args.out_dir / "protocols_meta.json") or {}
    lines += ["", "Per-run test figures (run order = split order):", ""] + per_run
    lines += ["", f"Measured {meta.get('date', '?')} on {meta.get('cpu', '?')} ({meta.get('cores', '?')} logical CPUs), "
              f"gas commit {meta.get('commit', '?')}, debugoptimized build, jobs side by side with other work (the",
              "times are indicative); commands:", ""] + [f"    {c}" for c in meta.get("commands", [])] + ["",
              "<!-- protocols:end -->"]
    text = "\n".join(lines) + "\n"
    (args.out_dir / "protocols.md").write_text(text)
    if args.write_docs:
        page = pathlib.Path(args.write_docs)
        old = page.read_text()
        begin, end = old.find("<!-- protocols:begin"), old.find("<!-- protocols:end -->")
        new = (old[:begin] + text + old[end + len("<!-- protocols:end -->\n"):]) if begin >= 0 and end > begin \
            else old.rstrip("\n") + "\n\n" + text
        page.write_text(new)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gas-train", type=pathlib.Path, default=ROOT / "build/examples/gas-train")
    ap.add_argument("--gas-inspect", type=pathlib.Path, default=ROOT / "build/examples/gas-inspect")
    ap.add_argument("--data", type=pathlib.Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--pyg-python", help="a Python with torch and torch_geometric (no PyG column without it)")
    ap.add_argument("--out-dir", type=pathlib.Path, default=ROOT / "results")
    ap.add_argument("--only", default="*", help="case-model[-mode] patterns, comma-separated (photo-gcn, 'cs-*')")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--runs-for", default="", help="model=runs overrides, comma-separated (gcnii=3)")
    ap.add_argument("--part", help="K-L: train runs K..L only (1-based) into a part file that is merged into the kept "
                    "JSON once the runs before K are there; split a long job over processes (--part 4-7, --part 8-10)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--write-docs")
    args = ap.parse_args()
    runs_for = dict(kv.split("=") for kv in args.runs_for.split(",") if kv)
    patterns = args.only.split(",")
    wanted = lambda name: any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(name.rsplit("-", 1)[0], p) for p in patterns)
    if not args.render_only:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        # The first invocation records the machine and commit; every invocation adds its command (runs are often
        # split over several, e.g. a slow model in a second process).
        meta_path = args.out_dir / "protocols_meta.json"
        meta = load(meta_path) if meta_path.exists() and not args.force else None
        if meta is None:
            meta = {"date": datetime.date.today().isoformat(), "cpu": platform.processor() or "?",
                    "cores": os.cpu_count(), "commands": [],
                    "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                             capture_output=True, text=True).stdout.strip()}
            try:
                meta["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
            except (OSError, StopIteration):
                pass
        meta.setdefault("commands", []).append("python3 tools/run_protocols.py " + " ".join(sys.argv[1:]))
        meta_path.write_text(json.dumps(meta, indent=1))
        jobs = []
        for case, folder, spec, models, flags in DATASETS:
            spec = spec.format(data=args.data)
            for m in models:
                runs = int(runs_for.get(m, args.runs))
                first = 1
                if args.part:
                    first, runs = (int(x) for x in args.part.split("-"))
                for mode in ("gas", "full"):
                    if wanted(f"{case}-{m}-{mode}"):
                        jobs.append(("gas", (args, case, folder, spec, m, flags, mode, runs, first)))
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for result in pool.map(lambda j: gas_job(*j[1]), jobs):
                print(result, flush=True)
        for _, (_, case, folder, _, m, _, mode, _, _) in jobs:
            for name in merge_parts(args.out_dir / folder, m, mode):
                print(f"{case}-{m}-{mode}: merged {name}", flush=True)
        if args.pyg_python:
            pyg = [(args, case, folder, spec.format(data=args.data), m) for case, folder, spec, models, _ in DATASETS
                   for m in models if wanted(f"{case}-{m}-pyg")]
            with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
                for result in pool.map(lambda j: pyg_job(*j), pyg):
                    print(result, flush=True)
    render(args)


if __name__ == "__main__":
    main()
