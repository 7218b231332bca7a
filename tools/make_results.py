#!/usr/bin/env python3
"""Reproduces docs/results.md: the Cora table of GCN, GAT, APPNP and GCNII with --preset paper, against the
reference's GAS figures (REFERENCE.md).

    meson setup build-native -Dnative=true -Dbuildtype=release -Dtests=false -Dbenchmarks=false
    ninja -C build-native examples/gas-train
    python3 tools/make_results.py --gas-train build-native/examples/gas-train --data ../shared/data

Each model runs `gas-train --dataset planetoid:DATA/planetoid/cora --model M --preset paper --runs R --json F`
(R = 10 by default) with OMP_NUM_THREADS set to --threads; up to --jobs models run side by side. The JSON files
go to --out-dir (kept, so `--render-only` rewrites the page from them without training again). Standard library
only; nothing here is needed by the build or the tests.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys

# REFERENCE.md: GAS test accuracy on Cora, mean +- std over the reference's runs.
REFERENCE = {
    "gcn": (82.29, 0.76),
    "gat": (83.32, 0.62),
    "appnp": (83.19, 0.58),
    "gcnii": (85.52, 0.39),
}
NAMES = {"gcn": "GCN", "gat": "GAT", "appnp": "APPNP", "gcnii": "GCNII"}


def run_model(gas_train, data, model, runs, seed, threads, out_dir, part):
    out = out_dir / f"cora_{model}.part{part}.json"
    log = out_dir / f"cora_{model}.part{part}.log"
    cmd = [str(gas_train), "--dataset", f"planetoid:{data}/planetoid/cora", "--model", model, "--preset", "paper",
           "--runs", str(runs), "--seed", str(seed), "--json", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="passive")
    with open(log, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        proc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{model}: gas-train exited with {proc.returncode}; see {log}")
    return model


def split_runs(runs, parts):
    """(first seed offset, run count) of each process when `runs` runs are spread over `parts` processes."""
    parts = max(1, min(parts, runs))
    sizes = [runs // parts + (1 if i < runs % parts else 0) for i in range(parts)]
    return [(sum(sizes[:i]), n) for i, n in enumerate(sizes)]


def median(values):
    v = sorted(values)
    m = len(v) // 2
    return v[m] if len(v) % 2 else 0.5 * (v[m - 1] + v[m])


def merge(out_dir, model, parts):
    """Joins the parts' JSON into cora_MODEL.json: per-run arrays concatenated in seed order, summaries recomputed
    (test std is the sample standard deviation; s / epoch the median over runs of each run's median epoch)."""
    js = [json.loads((out_dir / f"cora_{model}.part{p}.json").read_text()) for p in range(parts)]
    r = dict(js[0])
    for key in ("test", "val", "best_epoch", "run_train_seconds", "run_epoch_seconds_median"):
        r[key] = [x for j in js for x in j[key]]
    n = len(r["test"])
    r["runs"] = n
    r["test_mean"] = sum(r["test"]) / n
    r["test_std"] = (sum((t - r["test_mean"]) ** 2 for t in r["test"]) / (n - 1)) ** 0.5 if n > 1 else 0.0
    r["val_mean"] = sum(r["val"]) / n
    r["train_seconds"] = sum(r["run_train_seconds"]) / n
    r["epoch_seconds_median"] = median(r["run_epoch_seconds_median"])
    r["peak_rss_mb"] = max(j["peak_rss_mb"] for j in js)
    (out_dir / f"cora_{model}.json").write_text(json.dumps(r, indent=1))


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render(out_dir, models, threads, jobs, page):
    rows = []
    for m in models:
        r = json.loads((out_dir / f"cora_{m}.json").read_text())
        h = r["hyperparameters"]
        ref_mean, ref_std = REFERENCE[m]
        rows.append((m, r, h, ref_mean, ref_std))
    metas = {m: json.loads((out_dir / f"meta_{m}.json").read_text()) for m in models
             if (out_dir / f"meta_{m}.json").exists()}
    meta = next(iter(metas.values()), {})
    lines = [
        "# Results: Cora (Planetoid public split), GAS, `--preset paper`",
        "",
        "Produced by `tools/make_results.py`; rerun it to reproduce (commands at the end). Test accuracy at the",
        "best validation epoch, mean +- sample standard deviation over the runs, in percent. Reference: the GAS",
        "figures of the paper / PyGAS (REFERENCE.md). s / epoch: the median epoch time of the training steps alone",
        "(evaluation, which runs after every epoch, is excluded), on the host backend; for a model whose runs were",
        "spread over several processes (`--split`), the median over runs of each run's median epoch.",
        "Amazon-Photo, Coauthor-CS and the heterophilous datasets, GAS beside full-batch training on the same splits,",
        "follow at the end (tools/run_protocols.py).",
        "",
        "| model | ours (test) | reference (test) | difference | runs | val (ours) | epochs | s / epoch | training s / run | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m, r, h, ref_mean, ref_std in rows:
        lines.append(
            f"| {NAMES[m]} | {r['test_mean']:.2f} +- {r['test_std']:.2f} | {ref_mean:.2f} +- {ref_std:.2f} | "
            f"{r['test_mean'] - ref_mean:+.2f} | {r['runs']} | {r['val_mean']:.2f} | {r['epochs']} | "
            f"{r['epoch_seconds_median']:.4f} | {r['train_seconds']:.1f} | {r['peak_rss_mb']:.0f} |")
    worst = max(abs(r["test_mean"] - ref_mean) for _, r, _, ref_mean, _ in rows)
    same = [NAMES[m] for m, r, _, ref_mean, ref_std in rows
            if round(r["test_mean"], 2) == ref_mean and round(r["test_std"], 2) == ref_std]
    coincidence = (f" {', '.join(same)}: mean and standard deviation equal the reference's to two decimals by "
                   "coincidence of these runs; the per-run figures follow." if same else "")
    lines += ["", f"Every mean is within {worst:.2f} points of the reference's (the issue asks for 1 point)."
              + coincidence + " Epoch times are one CPU thread per run on a shared 2-core machine, not "
              "comparable with the reference's GPU epochs (REFERENCE.md: about 0.006 s on Cora); GCNII's 64 layers "
              "dominate its time and memory (the tape keeps every layer's intermediates for the backward pass)."]
    lines += ["", "Per-run test accuracy:", ""]
    for m, r, h, _, _ in rows:
        lines.append(f"- {NAMES[m]}: " + ", ".join(f"{t:.1f}" for t in r["test"]))
    lines += ["", "Hyperparameters (the preset; layers / hidden / dropout / parts / batch / lr / weight decay reg, "
              "nonreg / clip):", ""]
    for m, r, h, _, _ in rows:
        extra = ""
        if m == "gat":
            extra = f", heads {h['heads']} / {h['out_heads']}"
        if m in ("appnp", "gcnii"):
            extra = f", alpha {h['alpha']}" + (f", theta {h['theta']}" if m == "gcnii" else "")
        if m == "gcn":
            extra = f", input dropout {h['input_dropout']}"
        clip = h["grad_clip"] if h["grad_clip"] > 0 else "none"
        lines.append(f"- {NAMES[m]}: {h['layers']} / {h['hidden']} / {h['dropout']} / {h['num_parts']} / "
                     f"{h['batch_size']} / {h['lr']} / {h['reg_weight_decay']}, {h['nonreg_weight_decay']} / "
                     f"{clip}{extra}; features row-normalized: {h['row_normalize']}")
    lines += [
        "",
        "## Machine and build",
        "",
        f"- CPU: {meta.get('cpu', cpu_name())}; OMP_NUM_THREADS={meta.get('threads', threads)} per model, "
        f"{meta.get('jobs', jobs)} model(s) side by side; other work shared the machine, so times are indicative.",
        "- Build: meson `-Dnative=true -Dbuildtype=release` (g++ -O3 -march=native); "
        + "; ".join(f"{NAMES[m]} at commit {metas.get(m, {}).get('commit', 'unknown')}, {metas.get(m, {}).get('date', '')}"
                    for m in models) + ".",
        "",
        "## Reproduce",
        "",
        "```sh",
        "meson setup build-native -Dnative=true -Dbuildtype=release -Dtests=false -Dbenchmarks=false",
        "ninja -C build-native examples/gas-train",
        "python3 tools/make_results.py --gas-train build-native/examples/gas-train --data ../shared/data",
        "```",
        "",
        "One model by hand: `build-native/examples/gas-train --dataset planetoid:../shared/data/planetoid/cora "
        "--model gcnii --preset paper --runs 10 --json gcnii.json`.",
        "",
    ]
    # tools/run_protocols.py's section (Amazon, Coauthor, heterophilous) and its notes follow the Cora page: keep them.
    old = page.read_text() if page.exists() else ""
    kept = old[old.find("<!-- protocols:begin"):] if "<!-- protocols:begin" in old else ""
    page.write_text("\n".join(lines) + ("\n" + kept if kept else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gas-train", default="build-native/examples/gas-train")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--models", default="gcn,gat,appnp,gcnii")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of each gas-train")
    ap.add_argument("--jobs", type=int, default=2, help="models trained side by side")
    ap.add_argument("--split", default="gcnii=2",
                    help="MODEL=P,...: spread MODEL's runs over P processes (seeds stay seed .. seed + runs - 1)")
    ap.add_argument("--out-dir", default="results/cora")
    ap.add_argument("--page", default="docs/results.md")
    ap.add_argument("--render-only", action="store_true", help="rewrite the page from the JSON files in --out-dir")
    args = ap.parse_args()

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in REFERENCE:
            sys.exit(f"make_results.py: no reference figure for model '{m}' (known: {', '.join(REFERENCE)})")
    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.render_only:
        gas_train = pathlib.Path(args.gas_train)
        if not gas_train.is_file():
            sys.exit(f"make_results.py: {gas_train}: no such program; build it first (see --help)")
        meta = {"cpu": cpu_name(), "threads": args.threads, "jobs": args.jobs, "commit": git_commit(),
                "date": datetime.date.today().isoformat()}
        for m in models:  # per model: a later partial rerun (--models gcnii) keeps the others' records
            (out_dir / f"meta_{m}.json").write_text(json.dumps(meta))
        split = {k: int(v) for k, v in (item.split("=") for item in args.split.split(",") if item)}
        # The longest first, so that side-by-side jobs finish close together.
        order = sorted(models, key=lambda m: ["gcnii", "gat", "appnp", "gcn"].index(m))
        tasks = [(m, p, off, n) for m in order for p, (off, n) in enumerate(split_runs(args.runs, split.get(m, 1)))]
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_model, gas_train, args.data, m, n, args.seed + off, args.threads, out_dir, p)
                       for m, p, off, n in tasks]
            for f in concurrent.futures.as_completed(futures):
                print(f"done: {f.result()}", flush=True)
        for m in order:
            merge(out_dir, m, len(split_runs(args.runs, split.get(m, 1))))
    render(out_dir, models, args.threads, args.jobs, pathlib.Path(args.page))
    print(f"wrote {args.page}")


if __name__ == "__main__":
    main()
