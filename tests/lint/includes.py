#!/usr/bin/env python3
"""includes.py -- the include graph of cmd/, core/ and formats/.

A module is a header and its implementation (core/idx.h + core/idx.c),
with its internal header if it has one (core/opt_int.h, what the files
of core/opt share); a header without a .c of the same name, or a .c
without a header, is a module of its own. Module A depends on module B when a file of A
includes B's header with #include "...". Fails (exit 1), naming the
files, when:

  - the module graph has a cycle (a strongly connected component of more
    than one module): the layers are cmd -> core -> formats, and inside
    a layer the dependencies form a tree-like order;
  - a file in core/ or formats/ includes a header of cmd/;
  - a file in formats/ includes a header of core/ other than the small
    utility headers of ALLOWED_FROM_FORMATS.

Usage: tests/lint/includes.py [ROOT]   (ROOT: the source tree, default .)
"""
import os
import re
import sys

DIRS = ("cmd", "core", "formats")
# What a format may use of core/: utilities, hashing, logging, the
# crash-point hooks. Not the run, the index or the network.
ALLOWED_FROM_FORMATS = {"util.h", "hash.h", "log.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    files = {}
    for d in DIRS:
        for name in sorted(os.listdir(os.path.join(root, d))):
            if name.endswith((".c", ".h")):
                files[d + "/" + name] = None
    headers = {}
    for f in files:
        if f.endswith(".h"):
            base = os.path.basename(f)
            if base in headers:
                print(f"includes: {base} exists twice: {headers[base]}, {f}")
                return 1
            headers[base] = f

    def module(f):
        m = f[:-2]
        return m[:-4] if m.endswith("_int") else m

    errors = []
    edges = {}
    for f in files:
        m = module(f)
        edges.setdefault(m, set())
        with open(os.path.join(root, f), encoding="utf-8",
                  errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                mm = INCLUDE.match(line)
                if not mm:
                    continue
                inc = os.path.basename(mm.group(1))
                target = headers.get(inc)
                if target is None:
                    continue	# a test or system header
                layer = f.split("/")[0]
                tlayer = target.split("/")[0]
                if layer != "cmd" and tlayer == "cmd":
                    errors.append(f"{f}:{n}: {layer}/ includes {target}: "
                                  "core and formats never depend on cmd")
                if layer == "formats" and tlayer == "core" and \
                        inc not in ALLOWED_FROM_FORMATS:
                    errors.append(f"{f}:{n}: formats/ includes {target}: "
                                  "a format uses only " +
                                  ", ".join(sorted(ALLOWED_FROM_FORMATS)))
                if module(target) != m:
                    edges[m].add(module(target))

    # Tarjan's strongly connected components, iteratively.
    index = {}
    low = {}
    stack = []
    on = set()
    sccs = []
    counter = [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    sccs.append(sorted(comp))
    for comp in sccs:
        detail = "; ".join(
            f"{a} -> {b}" for a in comp for b in sorted(edges[a])
            if b in comp)
        errors.append("include cycle between modules " + ", ".join(comp) +
                      " (" + detail + ")")
    for e in errors:
        print("includes: " + e)
    if errors:
        return 1
    print(f"includes: {len(edges)} modules, no cycle, layers respected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
