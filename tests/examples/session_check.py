#!/usr/bin/env python3
"""gas-train's sessions: progress lines, per-epoch logs, checkpoints and resume, Ctrl-C, kills, patience and the
files it leaves (predictions and embeddings as .npy, the plot).

usage: session_check.py GAS_TRAIN

Checked: a run resumed from a mid-run checkpoint logs the same epochs, bit for bit, as the uninterrupted run
(GCN and GAT, GAS mode); SIGINT during a run exits 130 after saving a checkpoint that resumes, a log and the JSON
of what ran, and a second SIGINT exits at once; SIGKILL leaves a log whose complete lines all parse; a damaged,
truncated or foreign checkpoint is refused with the reason and left as it was; --patience stops a run early;
.npy outputs have numpy's header with the right shape; --quiet and --log-every shape the progress on stderr.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

SMALL = ["--dataset", "sbm:nodes=600,classes=3,features=8,seed=2", "--num-parts", "6", "--batch-size", "2"]
# Larger and slower per epoch, so a signal lands mid-run.
LONG = ["--dataset", "sbm:nodes=4000,classes=4,features=32,seed=3", "--num-parts", "20", "--batch-size", "2",
        "--epochs", "100000"]
failures = 0


def run(exe, *args, timeout=600):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


def check(ok, what, detail=""):
    global failures
    if ok:
        print(f"ok   {what}")
    else:
        failures += 1
        print(f"FAIL {what}" + (f"\n{detail}" if detail else ""))


def log_records(path):
    """Every complete JSONL line (a line cut short by a kill is ignored), keyed by (run, epoch)."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break
            r = json.loads(line)
            out[(r["run"], r["epoch"])] = r
    return out


def same_curves(a, b):
    """Logged values equal to the last digit written (17 significant digits), timings aside."""
    keys = ("loss", "train", "val", "test", "best_val", "lr")
    if sorted(a) != sorted(b):
        return f"epochs differ: {sorted(set(a) ^ set(b))[:5]}"
    for k in sorted(a):
        for key in keys:
            if a[k][key] != b[k][key]:
                return f"run {k[0]} epoch {k[1]} {key}: {a[k][key]} vs {b[k][key]}"
    return ""


def npy_shape(path):
    """(descr, shape) from a .npy header, read without numpy."""
    with open(path, "rb") as f:
        magic = f.read(8)
        assert magic[:6] == b"\x93NUMPY", magic
        (length,) = struct.unpack("<H", f.read(2))
        header = f.read(length).decode("latin1")
        data = f.read()
    d = eval(header, {"__builtins__": {}}, {"False": False, "True": True})  # a dict literal, as numpy writes it
    return d["descr"], tuple(d["shape"]), data


def wait_for_lines(path, count, proc, limit=120):
    start = time.time()
    while time.time() - start < limit and proc.poll() is None:
        if os.path.exists(path) and len(log_records(path)) >= count:
            return True
        time.sleep(0.05)
    return False


def resume_equals_uninterrupted(exe, tmp):
    for model in ("gcn", "gat"):
        full_log, part_log = os.path.join(tmp, f"{model}_full.jsonl"), os.path.join(tmp, f"{model}_part.jsonl")
        ckpt = os.path.join(tmp, f"{model}.ckpt")
        r0 = run(exe, *SMALL, "--model", model, "--epochs", "24", "--log", full_log, "--quiet")
        r1 = run(exe, *SMALL, "--model", model, "--epochs", "10", "--log", part_log, "--checkpoint", ckpt, "--quiet")
        r2 = run(exe, *SMALL, "--model", model, "--epochs", "24", "--log", part_log, "--checkpoint", ckpt,
                 "--resume", ckpt, "--quiet")
        ok = r0.returncode == r1.returncode == r2.returncode == 0
        diff = same_curves(log_records(full_log), log_records(part_log)) if ok else "a run failed"
        check(ok and not diff, f"{model}: 10 epochs, resumed to 24 == 24 uninterrupted (every logged value)",
              diff + r0.stderr + r1.stderr + r2.stderr)
        summary0 = r0.stdout.strip().splitlines()[-1].split("s/epoch")[0] if ok else ""
        summary2 = r2.stdout.strip().splitlines()[-1].split("s/epoch")[0] if ok else ""
        check(ok and summary0.split(";")[0] == summary2.split(";")[0], f"{model}: same summary line",
              f"{summary0}\n{summary2}")


def interrupt(exe, tmp):
    log, ckpt, out = (os.path.join(tmp, f"int.{e}") for e in ("jsonl", "ckpt", "json"))
    proc = subprocess.Popen([exe, *LONG, "--log", log, "--checkpoint", ckpt, "--checkpoint-every", "2", "--json",
                             out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = wait_for_lines(log, 3, proc)
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
    check(started and proc.returncode == 130, f"SIGINT: exit 130 (got {proc.returncode})", stderr[-2000:])
    check("interrupted" in stderr and "resume with --resume" in stdout, "SIGINT: says so and how to resume",
          stdout[-1000:] + stderr[-1000:])
    try:
        j = json.load(open(out))
        check(j["interrupted"] is True and j["interrupted_run"] == 1 and j["runs"] == 0,
              "SIGINT: the JSON says what ran", json.dumps(j)[:500])
    except (OSError, ValueError, KeyError) as e:
        check(False, "SIGINT: the JSON is written", repr(e))
    records = log_records(log) if os.path.exists(log) else {}
    epochs = max((e for _, e in records), default=0)
    check(epochs >= 3, f"SIGINT: the log keeps its {epochs} epochs")
    # The checkpoint holds the last complete epoch and resumes (two more epochs).
    r = run(exe, *LONG[:-2], "--epochs", str(epochs + 2), "--resume", ckpt, "--log", log, "--quiet")
    check(r.returncode == 0, f"SIGINT: the checkpoint resumes to epoch {epochs + 2}", r.stderr[-2000:])
    after = log_records(log)
    check(sorted(after) == [(0, e) for e in range(1, epochs + 3)], "SIGINT: the resumed log continues it",
          str(sorted(after)[-5:]))
    # A second SIGINT ends the process at once.
    log = os.path.join(tmp, "twice.jsonl")
    proc = subprocess.Popen([exe, *LONG, "--log", log], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_lines(log, 2, proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    check(proc.returncode == 130, f"two SIGINTs: exit 130 at once (got {proc.returncode})")


def kill(exe, tmp):
    log, ckpt = os.path.join(tmp, "kill.csv"), os.path.join(tmp, "kill.ckpt")
    proc = subprocess.Popen([exe, *LONG, "--log", log, "--checkpoint", ckpt, "--checkpoint-every", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(2000):  # wait for a few CSV lines
        if os.path.exists(log) and sum(1 for _ in open(log)) >= 4:
            break
        time.sleep(0.05)
    proc.kill()
    proc.communicate()
    lines = open(log).read().splitlines(keepends=True)
    complete = [l for l in lines if l.endswith("\n")]
    ok = len(complete) >= 4 and complete[0].startswith("run,epoch,")
    ok = ok and all(len(l.split(",")) == len(complete[0].split(",")) for l in complete)
    check(ok, f"SIGKILL: the CSV log keeps {len(complete) - 1} complete epochs", "".join(lines[:3]))
    # The checkpoint is saved just before the epoch's log line: it holds at most one epoch more than the log.
    r = run(exe, *LONG[:-2], "--epochs", str(len(complete) + 3), "--resume", ckpt, "--quiet")
    check(r.returncode == 0, "SIGKILL: the last checkpoint resumes", r.stderr[-2000:])


def refused(exe, tmp):
    ckpt = os.path.join(tmp, "ref.ckpt")
    run(exe, *SMALL, "--epochs", "3", "--checkpoint", ckpt, "--quiet")
    original = open(ckpt, "rb").read()
    log = os.path.join(tmp, "ref.jsonl")
    open(log, "w").write('{"run":0,"epoch":1,"loss":1.5}\n{"run":0,"epoch":2,"loss":1.25}\n')
    logged = open(log).read()
    r = run(exe, *SMALL, "--model", "gat", "--epochs", "5", "--checkpoint", ckpt, "--resume", ckpt, "--log", log)
    check(r.returncode == 2 and "gas-train.model: checkpoint gcn, this run gat" in r.stderr,
          "a foreign checkpoint (another model) is refused naming the difference", r.stderr[-1000:])
    check(open(log).read() == logged, "the refused resume left its --log as it was")
    r = run(exe, *SMALL, "--epochs", "5", "--hidden", "32", "--checkpoint", ckpt, "--resume", ckpt)
    check(r.returncode == 2 and "hidden 32" in r.stderr, "another hidden width is refused", r.stderr[-1000:])
    check(open(ckpt, "rb").read() == original, "the refused runs left the checkpoint as it was")
    for name, damage in (("truncated", original[: len(original) // 2]),
                         ("damaged", original[:100] + bytes([original[100] ^ 1]) + original[101:]),
                         ("not a checkpoint", b'{"a": 1}\n')):
        path = os.path.join(tmp, name.replace(" ", "_") + ".ckpt")
        open(path, "wb").write(damage)
        r = run(exe, *SMALL, "--epochs", "5", "--checkpoint", path, "--resume", path)
        check(r.returncode == 1 and "format_error" in r.stderr and "not a usable checkpoint" in r.stderr,
              f"a {name} checkpoint is refused with a format_error", r.stderr[-1000:])
        check(open(path, "rb").read() == damage, f"the {name} checkpoint is left as it was")
    r = run(exe, *SMALL, "--epochs", "5", "--resume", os.path.join(tmp, "absent.ckpt"))
    check(r.returncode == 1 and "io_error" in r.stderr, "a missing checkpoint: io_error", r.stderr[-500:])
    r = run(exe, *SMALL, "--epochs", "2", "--checkpoint", ckpt, "--resume", ckpt)
    check(r.returncode == 2 and "holds 3 epochs" in r.stderr, "fewer epochs than the checkpoint holds: refused",
          r.stderr[-500:])


def outputs(exe, tmp):
    pred, emb, plot, log = (os.path.join(tmp, f) for f in ("p.npy", "e.npy", "p.svg", "o.jsonl"))
    r = run(exe, *SMALL, "--epochs", "8", "--runs", "2", "--hidden", "12", "--save-predictions", pred,
            "--save-embeddings", emb, "--plot", plot, "--log", log, "--quiet")
    check(r.returncode == 0, "outputs: the run succeeds", r.stderr[-1000:])
    if r.returncode != 0:
        return
    descr, shape, data = npy_shape(pred)
    probs = struct.unpack(f"<{len(data) // 4}f", data)
    rows_sum = all(abs(sum(probs[i * 3:(i + 1) * 3]) - 1) < 1e-5 for i in range(600))
    check(descr == "<f4" and shape == (600, 3) and rows_sum, f"predictions: {descr} {shape}, rows sum to 1")
    descr, shape, _ = npy_shape(emb)
    check(descr == "<f4" and shape == (600, 12), f"embeddings: {descr} {shape}")
    root = ET.parse(plot).getroot()
    curves = [e for e in root.iter() if e.get("class", "").split()[:1] == ["curve"]]
    check(root.tag.endswith("svg") and len(curves) >= 2, f"plot: an SVG with {len(curves)} curves")
    check(len(log_records(log)) == 16, "log: 2 runs x 8 epochs")


def patience_and_progress(exe, tmp):
    log = os.path.join(tmp, "pat.jsonl")
    r = run(exe, *SMALL, "--epochs", "400", "--lr", "0.05", "--patience", "4", "--log", log, "--log-every", "1")
    epochs = len(log_records(log)) if os.path.exists(log) else 0
    check(r.returncode == 0 and "early stop" in r.stdout and 4 < epochs < 400,
          f"--patience 4 stops early ({epochs} epochs)", r.stdout[-500:] + r.stderr[-500:])
    progress = [l for l in r.stderr.splitlines() if l.startswith("run 1/1  epoch ")]
    check(len(progress) >= 2 and "ETA" in progress[-1] and f"epoch {epochs}/400" in progress[-1],
          f"--log-every 1: plain progress lines on stderr ({len(progress)})", r.stderr[-500:])
    r = run(exe, *SMALL, "--epochs", "5", "--quiet")
    check(r.returncode == 0 and r.stderr == "", "--quiet: nothing on stderr", r.stderr[-500:])


def bad_flags(exe, tmp):
    for args, expect in ((["--log", "x.txt"], "--log"), (["--plot", "x.png"], "--plot"),
                         (["--checkpoint-every", "3"], "--checkpoint-every needs --checkpoint"),
                         (["--save-predictions", "p.csv"], "--save-predictions"), (["--patience", "0"], "--patience"),
                         (["--log-every", "-1"], "--log-every")):
        r = run(exe, *SMALL, *args)
        check(r.returncode == 2 and "config_error" in r.stderr and expect in r.stderr, f"bad {' '.join(args)}: exit 2",
              r.stderr[-500:])


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        for part in (resume_equals_uninterrupted, interrupt, kill, refused, outputs, patience_and_progress, bad_flags):
            part(exe, tmp)
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
