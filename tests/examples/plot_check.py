#!/usr/bin/env python3
"""gas-plot end to end: logs in both formats become one well-formed SVG with the expected curves; bad input
gives exit status 1 with a typed message, a bad command line exit status 2 with the usage.

usage: plot_check.py GAS_PLOT
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
FIELDS = ["run", "epoch", "loss", "train", "val", "test", "best_val", "seconds", "lr", "dataset", "model", "mode",
          "metric"]


def record(run, epoch, evaluated=True):
    metric = (lambda base: base + 40 * (1 - math.exp(-epoch / 5)) + run) if evaluated else (lambda base: None)
    return {"run": run, "epoch": epoch, "loss": 2 * math.exp(-epoch / 4) + 0.1 * run, "train": metric(50),
            "val": metric(40), "test": metric(39), "best_val": None, "seconds": 0.01, "lr": 0.01,
            "dataset": "cora", "model": "gcn", "mode": "gas", "metric": "accuracy"}


def write_jsonl(path, records, tail=""):
    with open(path, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
        f.write(tail)


def write_csv(path, records):
    with open(path, "w") as f:
        f.write(",".join(FIELDS) + "\n")
        for r in records:
            f.write(",".join("" if r[k] is None else str(r[k]) for k in FIELDS) + "\n")


def run(exe, *args):
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=60)


def coordinates(d):
    """The (x, y) pairs of a path made of M, L, l and Z commands."""
    return [(float(x), float(y)) for cmd, x, y in re.findall(r"([MLl])\s*(-?[\d.]+),(-?[\d.]+)", d) if cmd != "l"]


def check_svg(path, expect_curves, expect_bands, split_series):
    failures = []
    root = ET.parse(path).getroot()  # raises on malformed XML
    if root.tag != SVG + "svg":
        failures.append(f"root element is {root.tag}")
    width, height = float(root.get("width")), float(root.get("height"))
    if root.get("viewBox") != f"0 0 {root.get('width')} {root.get('height')}":
        failures.append(f"viewBox {root.get('viewBox')} does not match the size")
    paths = list(root.iter(SVG + "path"))
    curves = [p for p in paths if p.get("class") == "curve"]
    bands = [p for p in paths if p.get("class") == "band"]
    if len(curves) != expect_curves:
        failures.append(f"{len(curves)} curves, expected {expect_curves}")
    if len(bands) != expect_bands:
        failures.append(f"{len(bands)} bands, expected {expect_bands}")
    for p in curves + bands:
        for x, y in coordinates(p.get("d")):
            if not (0 <= x <= width and 0 <= y <= height):
                failures.append(f"point {x},{y} outside {width}x{height}")
                break
    for p in curves:
        pieces = p.get("d").count("M")
        want = 2 if (p.get("data-log"), p.get("data-series")) in split_series else 1
        if pieces != want:
            failures.append(f"log {p.get('data-log')} {p.get('data-series')}: {pieces} pieces, expected {want}")
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    if texts.count("epoch") != 2:
        failures.append(f"{texts.count('epoch')} 'epoch' axis titles, expected 2")
    for want in ("loss", "accuracy (%)"):
        if want not in texts:
            failures.append(f"no '{want}' axis title")
    return failures, texts


def main(exe):
    failures = []

    def expect(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL", what)

    with tempfile.TemporaryDirectory() as tmp:
        two = os.path.join(tmp, "two-runs.jsonl")  # 2 runs, metrics not evaluated at epoch 4, a killed last line
        write_jsonl(two, [record(r, e, e != 4) for r in range(2) for e in range(1, 9)], tail='{"run":1,"ep')
        one = os.path.join(tmp, "one-run.csv")
        write_csv(one, [record(0, e) for e in range(1, 7)])
        out = os.path.join(tmp, "curves.svg")

        r = run(exe, two, one, "-o", out, "--title", "cora <gcn> & co")
        expect(r.returncode == 0, f"gas-plot exit {r.returncode}: {r.stderr.strip()}")
        if r.returncode == 0:
            split = {("0", s) for s in ("val", "train", "test")}
            problems, texts = check_svg(out, 8, 4, split)
            for p in problems:
                expect(False, p)
            expect("cora <gcn> & co" in texts, "the title is missing or mangled")
            expect("two-runs (2 runs)" in texts and "one-run" in texts, f"legend names: {texts}")
            print("ok   two logs:", r.stdout.strip())

        r = run(exe, one, "-o", out, "--metric-only")
        expect(r.returncode == 0, f"--metric-only exit {r.returncode}")
        if r.returncode == 0:
            root = ET.parse(out).getroot()
            series = [p.get("data-series") for p in root.iter(SVG + "path") if p.get("class") == "curve"]
            expect(sorted(series) == ["test", "train", "val"], f"--metric-only drew {series}")

        # Bad input: exit 1 with "gas-plot: KIND: PATH...".
        bad_middle = os.path.join(tmp, "bad.jsonl")
        write_jsonl(bad_middle, [record(0, 1)], tail='{"run":0,"epoch":\n' + json.dumps(record(0, 3)) + "\n")
        empty = os.path.join(tmp, "empty.csv")
        write_csv(empty, [])
        for args, code, pattern in (
                ([os.path.join(tmp, "missing.jsonl"), "-o", out], 1, r"^gas-plot: io_error: .*missing\.jsonl"),
                ([bad_middle, "-o", out], 1, r"^gas-plot: format_error: .*bad\.jsonl:2: "),
                ([empty, "-o", out], 1, r"^gas-plot: value_error: .*empty\.csv: no epochs to plot"),
                ([one, "-o", os.path.join(tmp, "no", "dir.svg")], 1, r"^gas-plot: io_error: .*dir\.svg"),
                ([], 2, r"usage: gas-plot"),
                ([one], 2, r"no output given"),
                ([one, "-o", out, "--metric-only", "--loss-only"], 2, r"exclude each other"),
                ([one, "-o", out, "--colour"], 2, r"unknown or incomplete option '--colour'"),
        ):
            r = run(exe, *args)
            ok = r.returncode == code and re.search(pattern, r.stderr, re.M)
            expect(ok, f"{args}: exit {r.returncode}, stderr {r.stderr.strip()!r}; expected {code} and /{pattern}/")
            if ok:
                print(f"ok   {code}: {r.stderr.strip().splitlines()[0]}")
        r = run(exe, "--help")
        expect(r.returncode == 0 and "usage: gas-plot" in r.stdout, "--help")

    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
