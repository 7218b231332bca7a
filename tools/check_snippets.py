#!/usr/bin/env python3
"""Checks that every code block in README.md and docs/*.md marked with
`<!-- snippet: PATH#NAME -->` equals the region between `// example-begin NAME` and
`// example-end NAME` in PATH, a test source that the test suite compiles and runs.
So the examples in the docs are code that builds and passes, not prose that drifts.
"""
import pathlib
import re
import sys

MARK = re.compile(r"<!-- snippet: ([^#\s]+)#(\S+) -->\s*\n```\w*\n(.*?)```", re.S)


def region(path, name):
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"^[ \t]*// example-begin {re.escape(name)}\n(.*?)^[ \t]*// example-end {re.escape(name)}\n", text,
                  re.S | re.M)
    if not m:
        return None
    lines = m.group(1).splitlines()
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return "\n".join(l[indent:] for l in lines).strip()


def main(root):
    root = pathlib.Path(root)
    docs = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    checked, bad = 0, 0
    for doc in docs:
        for path, name, body in MARK.findall(doc.read_text(encoding="utf-8")):
            checked += 1
            source = root / path
            expected = region(source, name) if source.exists() else None
            if expected is None:
                print(f"{doc.name}: snippet {path}#{name} has no example region in the source")
                bad += 1
            elif expected != body.strip():
                print(f"{doc.name}: snippet {path}#{name} differs from the tested code")
                bad += 1
    print(f"{checked} snippets checked, {bad} out of date")
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
