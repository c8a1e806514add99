#!/usr/bin/env python3
"""Import cycles between the library's modules; scripts/test.sh runs it (exit 1 when any).

Reads every `crate::`, `super::` and `self::` path in src/ (`use` trees with braces expanded;
comments and `mod tests` blocks left out; src/bin holds the binaries, not the library) and
resolves each to the module that owns it. A module and its own submodules may use each other
(that is how one module is split into files); any other loop, direct or around several modules,
is reported with the lines that make it.
"""
import os
import re
import sys

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))


def modules():
    """Module path ("batch::plan", "crate" for lib.rs) -> its file."""
    found = {}
    for folder, _, files in os.walk(SRC):
        rel_dir = os.path.relpath(folder, SRC)
        if rel_dir.split(os.sep)[0] == "bin":
            continue
        for f in files:
            if not f.endswith(".rs"):
                continue
            parts = os.path.relpath(os.path.join(folder, f), SRC)[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            found["crate" if parts == ["lib"] else "::".join(parts)] = os.path.join(folder, f)
    return found


def code_of(path):
    """The file without its comments and its `mod tests` block (tests may use anything)."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", text, flags=re.S)
    return re.sub(r"//.*", "", text)


def expand(tree):
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"] (a `use` tree's leaves)."""
    tree = re.sub(r"\s+", "", tree)
    i = tree.find("{")
    if i < 0:
        return [tree]
    head, body = tree[:i], tree[i + 1 : tree.rindex("}")]
    parts, depth, start = [], 0, 0
    for j, ch in enumerate(body):
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(body[start:j])
            start = j + 1
    parts.append(body[start:])
    return [head + leaf for p in parts if p for leaf in expand(p)]


def paths_in(code):
    """Every crate-relative path the code names, `use` trees expanded."""
    found = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)::[^;]*);", code):
        found += expand(m.group(1))
    found += re.findall(r"\b(?:crate|super|self)(?:::\w+)+", code)
    return found


def resolve(current, path, mods):
    """The module `path`, named inside `current`, belongs to (None for outside the crate)."""
    head, *segs = path.split("::")
    base = [] if current == "crate" else current.split("::")
    if head == "crate":
        base = []
    elif head == "super":
        base = base[:-1]
        while segs and segs[0] == "super":
            base, segs = base[:-1], segs[1:]
    for n in range(len(segs), -1, -1):
        name = "::".join(base + segs[:n]) or "crate"
        if name in mods:
            return name
    return None


def related(a, b):
    """A module and its own submodules (at any depth), or the crate root."""
    return a == b or "crate" in (a, b) or a.startswith(b + "::") or b.startswith(a + "::")


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    mods = modules()
    edges, why = {m: set() for m in mods}, {}
    for m, path in mods.items():
        code = code_of(path)
        for p in paths_in(code):
            target = resolve(m, p, mods)
            if target and not related(m, target):
                edges[m].add(target)
                why.setdefault((m, target), p)
    found = cycles(edges)
    for comp in found:
        print("import cycle: " + " <-> ".join(comp))
        for a in comp:
            for b in sorted(edges[a] & set(comp)):
                print(f"  {a} uses {b} ({why[(a, b)]})")
    n = sum(len(e) for e in edges.values())
    print(f"{len(mods)} modules, {n} imports between them, {len(found)} cycles", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
