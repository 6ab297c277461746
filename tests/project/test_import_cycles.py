"""No two modules of the project import each other, directly or round a circle.

Every import counts, at module level or inside a function: a circle broken by a late import is
still a circle. The graph is read from the source with ``ast``, so it needs nothing imported.
"""

import ast

from tests.conftest import ROOT

PACKAGES = ("ledger", "importers", "api", "charts", "cli", "sample", "bench")
LIMIT_LINES = 400
LIMIT_MODULES = 12
# Folders still being split (issue 11): each leaves this list when it is.
NOT_YET_SPLIT: set[str] = set()
NOT_YET_SHORT: set[str] = set()


def _modules() -> dict[str, ast.Module]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _resolve(name: str, modules: dict) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, tree in modules.items():
        is_pkg = (ROOT / mod.replace(".", "/") / "__init__.py").exists()
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for t in targets:
                dep = _resolve(t, modules)
                if dep and dep != mod and not mod.startswith(dep + "."):
                    graph[mod].add(dep)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_check_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_modules_stay_small_and_folders_few():
    too_long, too_full = [], []
    for pkg in (*PACKAGES, "tests", "migrations"):
        for path in (ROOT / pkg).rglob("*.py"):
            if pkg == "migrations" and "versions" in path.parts:
                continue  # a migration is a frozen record of the schema, never edited once shipped
            if len(path.read_text(encoding="utf-8").splitlines()) > LIMIT_LINES and \
                    str(path.relative_to(ROOT)) not in NOT_YET_SHORT:
                too_long.append(str(path.relative_to(ROOT)))
        for folder in [ROOT / pkg, *(p for p in (ROOT / pkg).rglob("*") if p.is_dir())]:
            if folder == ROOT / "migrations" / "versions":
                continue  # one module per schema step, in the order alembic chains them: a sequence, not a room
            count = len([p for p in folder.glob("*.py") if p.name != "__init__.py"])
            if count > LIMIT_MODULES and str(folder.relative_to(ROOT)) not in NOT_YET_SPLIT:
                too_full.append(f"{folder.relative_to(ROOT)}: {count}")
    assert (too_long, too_full) == ([], [])
