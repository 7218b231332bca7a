#!/usr/bin/env python3
"""ASCII timeline of the history pipeline's copy streams, from bench_cuda_pipeline's JSON (part "timeline").

    tools/timeline.py cuda_pipeline.json [--width 100] [--from-ms A] [--to-ms B]

One row per copy stream (h2d, d2h; compute is not timed, so it has no row), one character per time bucket: the
letter of the job that kept the stream busiest in that bucket (S stage, P pull, U push, O output), upper case when
the stream was busy at least half the bucket, lower case when less, '.' when idle. Times are rebased to the
window's first span. Below the rows: busy time per stream and per job. Reads {"parts": {"timeline": {"spans":
[...]}}}, {"spans": [...]} or a bare list of spans ({"stream", "what", "start_ms", "end_ms"}).
"""

import argparse
import json
import sys

LETTERS = {"stage": "S", "pull": "P", "push": "U", "output": "O"}
STREAM_ORDER = ["h2d", "d2h"]


def load_spans(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, dict):
        part = doc.get("parts", {}).get("timeline", doc)
        spans = part.get("spans")
        if spans is None:
            status = part.get("status") or doc.get("status")
            raise ValueError(f"{path}: no timeline spans (status: {status})")
    else:
        spans = doc
    out = []
    for s in spans:
        start, end = float(s["start_ms"]), float(s["end_ms"])
        if end < start:
            raise ValueError(f"{path}: span ends before it starts: {s}")
        out.append((str(s["stream"]), str(s["what"]), start, end))
    return out


def letter(what):
    return LETTERS.get(what, (what[:1] or "?").upper())


def render(spans, width=100, t_from=None, t_to=None):
    """The timeline as a list of text lines."""
    if not spans:
        return ["no spans"]
    origin = min(s[2] for s in spans)
    spans = [(st, what, a - origin, b - origin) for st, what, a, b in spans]
    lo = 0.0 if t_from is None else t_from
    hi = max(s[3] for s in spans) if t_to is None else t_to
    if hi <= lo:
        raise ValueError(f"empty time range [{lo}, {hi}] ms")
    step = (hi - lo) / width
    streams = [s for s in STREAM_ORDER if any(x[0] == s for x in spans)]
    streams += sorted({x[0] for x in spans} - set(streams))
    label = max(len(s) for s in streams)

    lines = [f"copy streams: {len(spans)} spans, {lo:.3f} .. {hi:.3f} ms, {step * 1000:.1f} us per column"]
    # The axis: a tick every 10 columns, labelled in ms where the label fits.
    axis = [" "] * (width + 12)
    for col in range(0, width + 1, 10):
        text = f"{lo + col * step:.1f}"
        if all(c == " " for c in axis[col:col + len(text) + 1]):
            axis[col:col + len(text)] = list(text)
    lines.append(" " * (label + 2) + "".join(axis).rstrip() + "  ms")
    ticks = "".join("|" if col % 10 == 0 else " " for col in range(width))
    lines.append(" " * (label + 2) + ticks)

    for stream in streams:
        busy = [dict() for _ in range(width)]
        for st, what, a, b in spans:
            if st != stream:
                continue
            a, b = max(a, lo), min(b, hi)
            if b <= a:
                continue
            first = min(width - 1, int((a - lo) / step))
            last = min(width - 1, int((b - lo) / step))
            for col in range(first, last + 1):
                c0, c1 = lo + col * step, lo + (col + 1) * step
                overlap = min(b, c1) - max(a, c0)
                if overlap > 0:
                    busy[col][what] = busy[col].get(what, 0.0) + overlap
        row = []
        for cell in busy:
            total = sum(cell.values())
            if total < 0.05 * step:
                row.append(".")
                continue
            ch = letter(max(cell, key=cell.get))
            row.append(ch if total >= 0.5 * step else ch.lower())
        window_busy = sum(sum(c.values()) for c in busy)
        lines.append(f"{stream:>{label}} |{''.join(row)}| {100 * window_busy / (hi - lo):.0f}% busy")
    lines.append("")
    for stream in streams:  # busy time within the range, per job (count: jobs that overlap the range)
        totals, counts = {}, {}
        for st, what, a, b in spans:
            a, b = max(a, lo), min(b, hi)
            if st == stream and b > a:
                totals[what] = totals.get(what, 0.0) + (b - a)
                counts[what] = counts.get(what, 0) + 1
        jobs = ", ".join(f"{what} {ms:.3f} ms ({counts[what]})" for what, ms in sorted(totals.items()))
        lines.append(f"{stream:>{label}}: {sum(totals.values()):.3f} ms busy: {jobs}")
    legend = ", ".join(f"{v} {k}" for k, v in LETTERS.items())
    lines.append(f"legend: {legend}; upper case: busy at least half the column, lower case: less, '.': idle")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json", help="bench_cuda_pipeline --json output (or a file of spans)")
    p.add_argument("--width", type=int, default=100, help="columns of the timeline (default 100)")
    p.add_argument("--from-ms", type=float, default=None, help="start of the range, ms after the first span")
    p.add_argument("--to-ms", type=float, default=None, help="end of the range, ms after the first span")
    args = p.parse_args(argv)
    if args.width < 10:
        p.error("--width must be at least 10")
    try:
        spans = load_spans(args.json)
        print("\n".join(render(spans, args.width, args.from_ms, args.to_ms)))
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"timeline.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
