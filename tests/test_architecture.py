"""The shape of the code: no import cycles, the library never imports the applications, every command-line option
is a field of an options dataclass, and no undefined citation ("seed 000", "issue 5") is left."""

import argparse
import ast
import dataclasses
import re
from pathlib import Path

from painterly.app.cli import COMMANDS, build_parser

SRC = Path(__file__).resolve().parents[1] / "src" / "painterly"


def _module(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the painterly modules it imports, anywhere in it (at module level or inside functions)."""
    modules = {_module(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [f"{target}.{a.name}" for a in node.names]
                for t in [target, *names]:
                    if t in modules and t != mod:
                        graph[mod].add(t)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in modules and a.name != mod:
                        graph[mod].add(a.name)
    for mod in graph:  # importing a.b runs a's __init__ too
        for t in list(graph[mod]):
            parent = t.rsplit(".", 1)[0]
            while parent != "painterly" and "." in parent:
                if parent in graph and parent != mod and not mod.startswith(parent + "."):
                    graph[mod].add(parent)
                parent = parent.rsplit(".", 1)[0]
    return graph


def test_the_graph_reader_sees_imports():
    g = import_graph()
    assert "painterly.gatys.engine" in g["painterly.app.cli"]  # a lazy import inside a function
    assert "painterly.errors" in g["painterly.gatys.engine"]


def test_no_import_cycles():
    graph = import_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(path[path.index(t) :] + [t] if t in path else [m, t])
            elif t not in state:
                visit(t, path + [t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    # the package __init__ only names its exports (loaded on first use, PEP 562): it imports nothing at load
    assert not cycles, cycles


def test_the_library_never_imports_the_applications():
    graph = import_graph()
    for mod, targets in graph.items():
        if not mod.startswith("painterly.app") and mod != "painterly.__main__":
            assert not any(t.startswith("painterly.app") for t in targets), (mod, targets)


def _subparsers(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                if full in COMMANDS:
                    yield full, sub
                else:
                    yield from _subparsers(sub, full)


def test_every_option_of_every_command_is_a_dataclass_field():
    seen = set()
    for name, sub in _subparsers(build_parser()):
        seen.add(name)
        fields = {
            f.name for cls, exclude in COMMANDS[name].options for f in dataclasses.fields(cls) if f.name not in exclude
        }
        dests = {a.dest for a in sub._actions if not isinstance(a, argparse._HelpAction)}
        assert dests <= fields, (name, dests - fields)
        assert fields <= dests, (name, fields - dests)
    assert seen == set(COMMANDS)


def test_no_private_citations_in_the_code_or_the_help():
    bad = re.compile(r"seed 00\d|\bissue \d|\bthe judge\b|judge's", re.I)
    for path in SRC.rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            assert not bad.search(line), f"{path}:{i}: {line.strip()}"
    helps = []
    for _, sub in _subparsers(build_parser()):
        helps += [sub.description or ""] + [a.help or "" for a in sub._actions]
    assert not [h for h in helps if bad.search(h)]
