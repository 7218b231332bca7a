#!/usr/bin/env python3
"""Copies the sources that need it into $EMU_GEN/include and $EMU_GEN/tests (EMU_GEN: the generated tree under the
emulation's build folder), rewriting only:
  * every kernel launch  NAME<<<cfg>>>(args)  ->  (::gas_emu::Launch("NAME", cfg) * [](auto... a_) { NAME(a_...); })(args)
  * gas/gas.hpp: `#if defined(__CUDACC__)` around the CUDA includes -> `#if 1` (also in an extra source, IN OUT)
  * gas/cuda/error.hpp: drop the `#error` that demands nvcc.
Nothing else changes; the kernel bodies are the project's."""
import os, re, sys

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))  # the repository
DST = os.environ.get('EMU_GEN', os.path.join(SRC, 'build-emu', 'gen'))

def kernel_name_start(s, j):
    """Start of the kernel expression that ends right before s[j] ('<<<')."""
    k = j
    while True:
        if k > 0 and s[k - 1] == '>':          # template arguments: find the matching '<'
            depth = 0
            k -= 1
            while k >= 0:
                c = s[k]
                if c == '>': depth += 1
                elif c == '<':
                    depth -= 1
                    if depth == 0: break
                k -= 1
            # k at '<'
        m = re.search(r'[A-Za-z_][A-Za-z_0-9]*$', s[:k])
        if not m: raise SystemExit('cannot parse kernel name before offset %d' % j)
        k = m.start()
        if s[k - 2:k] == '::':
            k -= 2
            continue
        return k

def rewrite_launches(s):
    out, i, n = [], 0, 0
    while True:
        j = s.find('<<<', i)
        if j < 0:
            out.append(s[i:]); break
        k = kernel_name_start(s, j)
        name = s[k:j]
        e = s.find('>>>', j)
        cfg = s[j + 3:e]
        out.append(s[i:k])
        out.append('(::gas_emu::Launch("%s", %s) * [](auto... gas_emu_a_) { %s(gas_emu_a_...); })' % (name, cfg, name))
        i = e + 3
        n += 1
    return ''.join(out), n

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f: f.write(text)

if len(sys.argv) == 3:  # rewrite one extra source: rewrite.py IN OUT
    text, c = rewrite_launches(open(sys.argv[1]).read())
    # A program's own code (examples/gas_train) keeps its device parts under defined(__CUDACC__), as gas.hpp does.
    text = text.replace('#if defined(__CUDACC__)', '#if 1  /* emulation: was defined(__CUDACC__) */')
    write(sys.argv[2], text)
    sys.exit(0)

total = 0
for root, _, files in os.walk(os.path.join(SRC, 'include')):
    for fn in files:
        p = os.path.join(root, fn)
        rel = os.path.relpath(p, SRC)
        text = open(p).read()
        orig = text
        if rel == 'include/gas/gas.hpp':
            assert text.count('#if defined(__CUDACC__)') == 1
            text = text.replace('#if defined(__CUDACC__)', '#if 1  /* emulation: was defined(__CUDACC__) */')
        if rel == 'include/gas/cuda/error.hpp':
            text, c = re.subn(r'#if !defined\(__CUDACC__\)\n#error[^\n]*\n#endif\n', '', text)
            assert c == 1
        if '<<<' in text:
            text, c = rewrite_launches(text)
            total += c
            print('%-50s %d launches' % (rel, c))
        if text != orig:
            write(os.path.join(DST, rel), text)
for fn in sorted(os.listdir(os.path.join(SRC, 'tests/cuda'))):
    if not fn.endswith('.cu'): continue
    text = open(os.path.join(SRC, 'tests/cuda', fn)).read()
    text, c = rewrite_launches(text)
    total += c
    print('%-50s %d launches' % ('tests/cuda/' + fn, c))
    write(os.path.join(DST, 'tests/cuda', fn), text)
print('total launches rewritten:', total)
