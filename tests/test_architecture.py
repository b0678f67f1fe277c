"""The import contract: the stage order and the layers of ../shared/ARCHITECTURE.md.

Every import in the package counts, those inside functions too: a lazy import
is still a dependency. Run by `make test` like any other test.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "marketplace"
STAGES = ("accounts", "notifications", "verify", "find", "engage", "manage", "pay", "rate")
ROOT_SHELL = {"__init__", "cli"}  # the app's wiring: may import anything


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the marketplace modules `path` imports."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("marketplace"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("marketplace"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                as_path = PACKAGE.parent / Path(*candidate.split("."))
                found.add(candidate if as_path.with_suffix(".py").exists() or as_path.is_dir()
                          else target)
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    head = parts[1]
    if head in STAGES or head in ("core", "web", "integrations", "demo"):
        return head
    return "shell" if head in ROOT_SHELL else "base"  # errors, extensions, jobs


def _allowed(src: str, dst: str) -> bool:
    a, b = _layer(src), _layer(dst)
    if a in ("root", "shell", "demo") or a == b:
        return True
    if b == "demo":
        return False
    if a in ("core", "web", "integrations", "base"):
        # core and the adapters import no stage and nothing web; web imports no stage.
        ok = {"core": {"base", "core", "integrations"},
              "integrations": {"base", "core", "integrations"},
              "web": {"base", "core", "integrations", "web"},
              "base": {"base", "core"}}[a]
        return b in ok
    if a in STAGES:
        if b in ("base", "core", "web", "integrations"):
            return True
        return b in STAGES and STAGES.index(b) <= STAGES.index(a)
    return False


def test_every_import_follows_the_stage_order_and_the_layers():
    wrong = sorted(f"{src} imports {dst}" for src, targets in _graph().items()
                   for dst in targets if not _allowed(src, dst))
    assert not wrong, "imports against ARCHITECTURE.md:\n" + "\n".join(wrong)


def test_no_import_cycles_between_modules():
    """Only between modules: a package's __init__ wires its own modules by design."""
    graph = {m: {t for t in ts if t in _graph_modules()} for m, ts in _graph().items()}
    packages = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    graph = {m: ts - packages for m, ts in graph.items() if m not in packages}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def _graph_modules() -> set[str]:
    return {_module_name(p) for p in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize("src,dst,ok", [
    ("marketplace.core.clock", "marketplace.find.models", False),
    ("marketplace.web.api", "marketplace.accounts.tokens", False),
    ("marketplace.verify.relations", "marketplace.find.models", False),
    ("marketplace.engage.offers", "marketplace.find.models", True),
    ("marketplace.find.matching", "marketplace.demo.catalog", False),
])
def test_the_contract_itself_tells_right_from_wrong(src, dst, ok):
    assert _allowed(src, dst) is ok
