#!/usr/bin/env python3
"""Counts test results from meson's testlog.json, per doctest test case where a program reports them.

Further arguments NAME=ok|fail count checks run outside meson. Prints, last, one line: 'N passed, N failed, N skipped'. Exit status 1 when anything failed.
"""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")


def main(path, extra):
    passed = failed = skipped = 0
    for result in extra:  # checks run outside meson, each given as NAME=ok or NAME=fail
        name, _, outcome = result.partition("=")
        if outcome == "ok":
            passed += 1
        else:
            failed += 1
            print(f"failed outside meson: {name}")
    with open(path, encoding="utf-8") as log:
        for line in log:
            line = line.strip()
            if not line:
                continue
            entry = json.loads(line)
            result = entry.get("result", "")
            found = SUMMARY.findall(entry.get("stdout", "") or "")
            if found:
                _, p, f, s = map(int, found[-1])
                passed += p
                skipped += s
                # A program that crashed after its summary, or failed for another reason, still counts as a failure.
                failed += f if (f > 0 or result in ("OK", "SKIP", "EXPECTEDFAIL")) else max(f, 1)
            elif result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0] if args else "build/meson-logs/testlog.json", args[1:]))
