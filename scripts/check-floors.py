#!/usr/bin/env python3
"""The module floors of ARCHITECTURE.md, checked: no file imports a module on a higher floor, and
no two files import each other (directly or around a loop).

Reads every `use` and every `crate::`/`super::` path in src/ (test modules excluded), resolves it
to the file that defines it, and reports upward imports and import cycles (strongly connected
components of the file graph). Exits 1 on any. `--map` prints the file graph by floor.

Usage: scripts/check-floors.py [--map] [SRC]   (default src/)
"""
import os
import re
import sys

# Lowest first. A module may import from its own floor and the floors below it.
FLOORS = {
    0: ["allocator", "atomic_file", "container", "cpu", "hex", "jpeg_layout", "sample", "test_random"],
    1: ["verdict", "explanation", "c2pa_status", "format", "pixels", "recode", "identity", "source_type", "limits", "schema_version"],
    2: ["layers"],
    3: ["registry"],
    4: ["stamp", "check", "import"],
    5: ["server", "cli", "<main>"],
}


def modules(root):
    """Module path (tuple) -> file, for every .rs file under root."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(directory, name)
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts == ["lib"]:
                parts = []
            elif parts == ["main"]:
                parts = ["<main>"]
            found[tuple(parts)] = path
    return found


def expand(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)  # `b as c` names b
    tree = re.sub(r"\s+", "", tree)
    match = re.match(r"^(.*?)::\{(.*)\}$", tree)
    if not match:
        return [tree]
    head, body = match.groups()
    items, depth, current = [], 0, ""
    for ch in body:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    paths = []
    for item in filter(None, items):
        for sub in expand(item):
            paths.append(head if sub == "self" else f"{head}::{sub}")
    return paths


def resolve(files, module, path):
    """The file module a path names, or None for other crates."""
    # (Aliases, `a::b as c`, are cut off by `expand`.)
    segments = path.split("::")
    if segments[0] == "crate":
        base, segments = [], segments[1:]
    elif segments[0] == "super":
        base = list(module)
        while segments and segments[0] == "super":
            base, segments = base[:-1], segments[1:]
    elif segments[0] == "self":
        base, segments = list(module), segments[1:]
    elif tuple(list(module) + [segments[0]]) in files:
        base = list(module)
    else:
        return None
    full = base + segments
    for n in range(len(full), -1, -1):
        if tuple(full[:n]) in files:
            return tuple(full[:n])
    return None


def graph(files):
    edges = {}
    for module, path in files.items():
        text = open(path, encoding="utf-8").read()
        text = re.split(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod tests", text)[0]
        text = re.sub(r"//[^\n]*", "", text)
        deps = set()
        for use in re.finditer(r"\buse\s+([^;]+);", text):
            for p in expand(use.group(1)):
                target = resolve(files, module, p)
                if target is not None and target != module:
                    deps.add(target)
        for ref in re.finditer(r"\b(crate|super)::([a-z0-9_]+(?:::[a-z0-9_]+)*)", text):
            target = resolve(files, module, f"{ref.group(1)}::{ref.group(2)}")
            if target is not None and target != module:
                deps.add(target)
        edges[module] = deps
    return edges


def cycles(edges):
    """Tarjan's strongly connected components with more than one file."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


def floor(module):
    if not module:
        return None  # lib.rs: the crate root re-exports from every floor
    for level, tops in FLOORS.items():
        if module[0] in tops:
            return level
    return "?"


def name(module):
    return "::".join(module) or "lib"


def main():
    args = [a for a in sys.argv[1:] if a != "--map"]
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "src")
    files = modules(root)
    edges = graph(files)
    problems = 0
    for component in cycles(edges):
        problems += 1
        print("cycle:", ", ".join(sorted(name(m) for m in component)))
        for a in component:
            for b in edges[a]:
                if b in component:
                    print(f"    {name(a)} -> {name(b)}")
    for a, deps in sorted(edges.items()):
        for b in sorted(deps):
            fa, fb = floor(a), floor(b)
            if fa is None or fb is None:
                continue
            if "?" in (fa, fb):
                problems += 1
                print(f"no floor for {name(a) if fa == '?' else name(b)}: add it to FLOORS")
            elif fb > fa:
                problems += 1
                print(f"upward: {name(a)} (floor {fa}) imports {name(b)} (floor {fb})")
    if "--map" in sys.argv:
        for level in sorted(FLOORS, reverse=True):
            print(f"floor {level}:")
            for module in sorted(m for m in edges if floor(m) == level):
                deps = ", ".join(sorted(name(d) for d in edges[module])) or "-"
                print(f"  {name(module)} -> {deps}")
    edge_count = sum(len(d) for d in edges.values())
    print(f"{len(files)} files, {edge_count} imports between them, {problems} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
