#!/usr/bin/env python3
"""gas-fetch against an HTTP server on the loopback interface that stands in for the publishers (CI has no
internet): a download through a redirect verified by SHA-256, a second run that finds everything in place, a
checksum mismatch (download removed), an interrupted transfer resumed with a Range request, a 404, a file of
unknown checksum, OGB zips (one good, two with entries that climb out of DIR: refused, nothing written), an
unknown name and a dataset that must be downloaded by hand.

usage: fetch_check.py GAS_FETCH DATA_DIR
The Cora cases need DATA_DIR/planetoid/cora (the publisher's bytes, whose digests gas-fetch records); without it
they are skipped and so is the test (exit 77) once the other cases have passed. A gas-fetch built without
libcurl skips the test too.
"""
import hashlib
import http.server
import io
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import threading
import zipfile

SKIP = 77
CORA_PARTS = ["x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"]


class Server:
    """Serves `files` (URL path -> bytes) with Range support, except under the path prefixes in `no_range`;
    `redirects` maps a path prefix to another; `cut` maps a path to a byte count after which the connection is
    closed mid-body. Records (path, Range header) per request."""

    def __init__(self):
        self.files, self.redirects, self.cut, self.requests, self.no_range = {}, {}, {}, [], []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body, headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                owner.requests.append((self.path, self.headers.get("Range")))
                for prefix, target in owner.redirects.items():
                    if self.path.startswith(prefix):
                        return self.reply(302, b"", [("Location", target + self.path[len(prefix):])])
                body = owner.files.get(self.path)
                if body is None:
                    return self.reply(404, b"not found\n")
                status, headers, start = 200, [], 0
                m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if m and not any(self.path.startswith(p) for p in owner.no_range):
                    start = int(m.group(1))
                    if start >= len(body):
                        return self.reply(416, b"", [("Content-Range", f"bytes */{len(body)}")])
                    status, headers = 206, [("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")]
                chunk = body[start:]
                if self.path in owner.cut:  # promise the whole body, send part of it, hang up
                    self.send_response(status)
                    for k, v in headers:
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(chunk)))
                    self.end_headers()
                    self.wfile.write(chunk[:owner.cut[self.path]])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.reply(status, chunk, headers)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Checker:
    def __init__(self, exe):
        self.exe, self.failures = exe, []
        # No proxy may stand between curl and the loopback server, and no mirror setting may leak in.
        self.env = {k: v for k, v in os.environ.items()
                    if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "gas_fetch_base_url")}
        self.env["no_proxy"] = "127.0.0.1,localhost"

    def run(self, *args, env=None):
        e = dict(self.env, **(env or {}))
        return subprocess.run([self.exe, *map(str, args)], capture_output=True, text=True, timeout=120, env=e)

    def check(self, ok, what, result=None):
        if not ok:
            detail = f"\n  exit {result.returncode}\n  stdout: {result.stdout}\n  stderr: {result.stderr}" if result else ""
            self.failures.append(what + detail)
        return ok


def tree(root):
    return sorted(str(p.relative_to(root)) for p in pathlib.Path(root).rglob("*"))


def make_zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps the name exactly as given ('..', '/')
    return buf.getvalue()


def cases_without_data(c, server, tmp):
    base = server.base

    # 404: the error names the URL and the status; no empty .part is left behind.
    d = tmp / "404"
    r = c.run("cora", d, "--base-url", f"{base}/nothing")
    c.check(r.returncode == 1 and "404" in r.stderr and f"{base}/nothing/ind.cora.x" in r.stderr,
            "404: exit 1 with the URL and the status", r)
    c.check(not list(d.rglob("*.part")) and not list(d.rglob("ind.*")), f"404: files left behind: {tree(d)}")

    # A file with no recorded checksum is kept, and the tool says what it could not check.
    server.files["/het/roman_empire.npz"] = b"any bytes at all"
    d = tmp / "nosum"
    r = c.run("roman-empire", d, f"--base-url={base}/het/")
    spec = f"gas-train --dataset npz:{d}/heterophilous/roman_empire.npz"
    c.check(r.returncode == 0 and r.stdout.strip().splitlines()[-1:] == [spec] and "no checksum" in r.stderr,
            "unknown checksum: downloaded, says so, prints the npz spec", r)
    c.check((d / "heterophilous/roman_empire.npz").read_bytes() == b"any bytes at all", "unknown checksum: content")

    # A whole file left as .part (size unknown): the server answers the Range with 416 'bytes */SIZE', so the
    # part is complete and takes its name; a .part that is no prefix of the file (longer) is fetched again.
    server.files["/het/tolokers.npz"] = b"0123456789"
    for label, part in [("whole", b"0123456789"), ("longer", b"0123456789abc")]:
        d = tmp / f"part-{label}"
        (d / "heterophilous").mkdir(parents=True)
        (d / "heterophilous/tolokers.npz.part").write_bytes(part)
        before = len(server.requests)
        r = c.run("tolokers", d, "--base-url", f"{base}/het")
        c.check(r.returncode == 0 and (d / "heterophilous/tolokers.npz").read_bytes() == b"0123456789" and
                not (d / "heterophilous/tolokers.npz.part").exists(), f".part {label}: completed", r)
        c.check([rng for _, rng in server.requests[before:]] == ([f"bytes={len(part)}-"] +
                                                                 ([None] if label == "longer" else [])),
                f".part {label}: requests {server.requests[before:]}")

    # A good OGB zip: unpacked, its top folder renamed as OGB does, the archive removed, the ogb spec printed.
    server.files["/ogb-good/arxiv.zip"] = make_zip([("arxiv/raw/edge.csv.gz", b"e"), ("arxiv/split/time/train.csv.gz",
                                                                                        b"t"), ("arxiv/raw/", b"")])
    root = tmp / "zipgood"
    r = c.run("ogbn-arxiv", root / "data", "--base-url", f"{base}/ogb-good")
    target = root / "data/ogb/ogbn_arxiv"
    c.check(r.returncode == 0 and r.stdout.strip().splitlines()[-1:] == [f"gas-train --dataset ogb:{target}"],
            "good zip: exit 0 and the ogb spec", r)
    c.check((target / "raw/edge.csv.gz").read_bytes() == b"e" and (target / "split/time/train.csv.gz").exists(),
            f"good zip: unpacked files: {tree(root)}")
    c.check(tree(root / "data/ogb") == ["ogbn_arxiv", "ogbn_arxiv/raw", "ogbn_arxiv/raw/edge.csv.gz",
                                        "ogbn_arxiv/split", "ogbn_arxiv/split/time",
                                        "ogbn_arxiv/split/time/train.csv.gz"],
            f"good zip: nothing else left (no zip, no staging folder): {tree(root / 'data/ogb')}")

    # Entries that climb out of DIR, by '..' or by an absolute path: refused before anything is written.
    outside = tmp / "outside-target"
    for label, evil in [("dotdot", "../evil"), ("nested", "arxiv/../../../evil"), ("absolute", str(outside / "evil"))]:
        server.files[f"/ogb-{label}/arxiv.zip"] = make_zip([("arxiv/raw/edge.csv.gz", b"e"), (evil, b"pwned")])
        root = tmp / f"zip-{label}"
        root.mkdir()
        r = c.run("ogbn-arxiv", root / "data", "--base-url", f"{base}/ogb-{label}")
        c.check(r.returncode == 1 and "format_error" in r.stderr and evil in r.stderr,
                f"zip entry {evil!r}: refused with a format_error naming it", r)
        c.check(tree(root) == ["data", "data/ogb"], f"zip entry {evil!r}: something was written: {tree(root)}")
        c.check(not list(tmp.rglob("evil")), f"zip entry {evil!r}: a file 'evil' exists")

    # An unknown name is a configuration error listing the names; a dataset without a URL says how to get it.
    r = c.run("no-such-set")
    c.check(r.returncode == 2 and "config_error" in r.stderr and "cora" in r.stderr and "ogbn-arxiv" in r.stderr,
            "unknown name: exit 2 listing the known names", r)
    r = c.run("flickr", tmp / "manual")
    c.check(r.returncode == 1 and "drive.google.com" in r.stderr and "adj_full.npz" in r.stderr and
            str(tmp / "manual/saint/flickr") in r.stderr, "flickr: exit 1 with instructions for a download by hand", r)


def cases_with_cora(c, server, tmp, cora):
    base = server.base
    files = {part: (cora / f"ind.cora.{part}").read_bytes() for part in CORA_PARTS}
    for part, data in files.items():
        server.files[f"/pub/ind.cora.{part}"] = data
    server.redirects["/mirror/"] = "/pub/"  # as GitHub's raw URLs redirect

    # Success through a redirect, every file verified.
    d = tmp / "ok"
    r = c.run("cora", d, "--base-url", f"{base}/mirror")
    folder = d / "planetoid/cora"
    c.check(r.returncode == 0 and r.stdout.strip().splitlines()[-1:] == [f"gas-train --dataset planetoid:{folder}"],
            "success: exit 0 and the planetoid spec last on stdout", r)
    c.check(r.stderr.count("checksum ok") == 8, "success: 8 checksums reported ok", r)
    c.check(all((folder / f"ind.cora.{p}").read_bytes() == files[p] for p in CORA_PARTS) and
            not list(folder.glob("*.part")), f"success: files differ or .part left: {tree(folder)}")

    # A second run (mirror from the environment) finds everything and asks the server for nothing.
    before = len(server.requests)
    r = c.run("cora", d, env={"GAS_FETCH_BASE_URL": f"{base}/mirror"})
    c.check(r.returncode == 0 and r.stderr.count("already there, checksum ok") == 8 and len(server.requests) == before,
            "second run: everything already there, no request", r)

    # A file in place that does not match is never overwritten: an error tells the user to remove it.
    y = folder / "ind.cora.y"
    y.write_bytes(files["y"][:-1] + b"\0")
    r = c.run("cora", d, "--base-url", f"{base}/mirror")
    c.check(r.returncode == 1 and "already there but" in r.stderr and str(y) in r.stderr,
            "existing damaged file: exit 1 naming it", r)
    c.check(y.read_bytes() == files["y"][:-1] + b"\0", "existing damaged file: it was overwritten")

    # Checksum mismatch: the served bytes differ; the download is removed and both digests are named.
    bad = bytearray(files["x"])
    bad[100] ^= 0xFF
    server.files["/bad/ind.cora.x"] = bytes(bad)
    d = tmp / "mismatch"
    r = c.run("cora", d, "--base-url", f"{base}/bad")
    expected, actual = hashlib.sha256(files["x"]).hexdigest(), hashlib.sha256(bad).hexdigest()
    c.check(r.returncode == 1 and expected in r.stderr and actual in r.stderr and "mismatch" in r.stderr,
            "mismatch: exit 1 naming the expected and the actual SHA-256", r)
    c.check(not (d / "planetoid/cora/ind.cora.x").exists() and not (d / "planetoid/cora/ind.cora.x.part").exists(),
            f"mismatch: the download was not removed: {tree(d)}")

    # Interrupted transfer: the server hangs up after 100000 bytes of ind.cora.allx; the next run resumes.
    for part, data in files.items():
        server.files[f"/cut/ind.cora.{part}"] = data
    server.cut["/cut/ind.cora.allx"] = 100000
    d = tmp / "resume"
    folder = d / "planetoid/cora"
    r = c.run("cora", d, "--base-url", f"{base}/cut")
    part = folder / "ind.cora.allx.part"
    c.check(r.returncode == 1 and "resume" in r.stderr and part.exists(), "interrupted: exit 1, .part kept", r)
    have = part.stat().st_size if part.exists() else -1
    c.check(0 < have < len(files["allx"]), f"interrupted: .part holds {have} bytes")
    c.check(not (folder / "ind.cora.allx").exists(), "interrupted: an incomplete file took the final name")
    del server.cut["/cut/ind.cora.allx"]
    before = len(server.requests)
    r = c.run("cora", d, "--base-url", f"{base}/cut")
    ranges = [rng for path, rng in server.requests[before:] if path == "/cut/ind.cora.allx"]
    c.check(r.returncode == 0 and f"resuming at byte {have}" in r.stderr, "resume: exit 0", r)
    c.check(ranges == [f"bytes={have}-"], f"resume: Range requests for allx were {ranges}")
    c.check(all((folder / f"ind.cora.{p}").read_bytes() == files[p] for p in CORA_PARTS) and not part.exists(),
            f"resume: files differ or .part left: {tree(folder)}")
    c.check(r.stderr.count("already there, checksum ok") == 2, "resume: x and tx from the first run kept", r)

    # A server that ignores Range answers 200 with the whole file: the .part starts over and the result verifies.
    server.files["/norange/ind.cora.x"] = files["x"]
    server.no_range.append("/norange/")
    server.cut["/norange/ind.cora.x"] = 5000
    d = tmp / "norange"
    r = c.run("cora", d, "--base-url", f"{base}/norange")
    c.check(r.returncode == 1 and (d / "planetoid/cora/ind.cora.x.part").exists(), "no range: first run interrupted", r)
    del server.cut["/norange/ind.cora.x"]
    r = c.run("cora", d, "--base-url", f"{base}/norange")
    c.check("cannot resume" in r.stderr and (d / "planetoid/cora/ind.cora.x").read_bytes() == files["x"],
            "no range: downloaded again from the start and verified", r)


def main(exe, data_dir):
    c = Checker(exe)
    r = c.run("--help")
    if r.returncode != 0 or "download:" not in r.stdout:
        print(f"gas-fetch --help failed:\n{r.stdout}{r.stderr}")
        return 1
    if "download: not built" in r.stdout:
        print("gas-fetch was built without libcurl (meson feature 'fetch'): skipping the download tests")
        return SKIP
    server = Server()
    cora = pathlib.Path(data_dir) / "planetoid" / "cora"
    try:
        with tempfile.TemporaryDirectory(prefix="gas-fetch-") as tmp:
            tmp = pathlib.Path(tmp)
            cases_without_data(c, server, tmp)
            if cora.is_dir():
                cases_with_cora(c, server, tmp, cora)
    finally:
        server.close()
    for f in c.failures:
        print("FAIL:", f)
    if c.failures:
        return 1
    if not cora.is_dir():
        print(f"{cora} is absent: the Cora cases (checksums, mismatch, resume) were skipped")
        return SKIP
    print("gas-fetch: all loopback cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
