"""The shape of ``bot/`` stays as docs/architecture.md draws it (issue 9): no hidden import cycles
(no ``TYPE_CHECKING`` and no function-level imports outside the CLI), inside a step the imports go
listeners -> flow -> blocks/modals and never back, across steps only ``flow`` -> ``flow``, the
module graph is acyclic, and the usage lines match the subcommands."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import bot
from bot import messages
from commands import SUBCOMMANDS

ROOT = Path(bot.__file__).parent
MODULES = sorted(ROOT.rglob("*.py"))
CLI = ROOT / "cli.py"  # the CLI imports lazily on purpose: `upgradebot --help` stays fast
FLOW_LEVEL = {"flow", "timed", "watch"}  # modules that may call another step's flow
# Which kinds of module of a step may import which kinds of the same step.
SAME_STEP = {
    "listeners": {"flow", "blocks", "modals"},
    "flow": {"blocks", "modals", "watch"},
    "watch": {"blocks"},  # following a step (flows/execute): called by its flow
    "timed": {"flow", "blocks"},
    "blocks": set(),
    "modals": set(),
    "__init__": set(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def hidden_imports(source: str) -> list[str]:
    """Each import below module level and each ``TYPE_CHECKING`` use, as "line: what"."""
    tree = ast.parse(source)
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.Name | ast.alias) and "TYPE_CHECKING" in (
            getattr(node, "id", None),
            getattr(node, "name", None),
        ):
            found.append(f"{getattr(node, 'lineno', 0)}: TYPE_CHECKING")
    return sorted(set(found), key=lambda line: int(line.split(":")[0]))


def imported(source: str, package: str) -> Iterator[str]:
    """The ``bot.*`` modules a module's top level imports (``from bot import x`` names x)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("bot"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = any(module_name(m) == candidate for m in MODULES)
                yield candidate if is_module else node.module


def graph() -> dict[str, set[str]]:
    return {module_name(m): set(imported(m.read_text(), module_name(m))) for m in MODULES}


def step_of(name: str) -> tuple[str, str] | None:
    """("details", "listeners") for ``bot.flows.details.listeners``."""
    parts = name.split(".")
    if len(parts) == 4 and parts[:2] == ["bot", "flows"]:
        return parts[2], parts[3]
    if len(parts) == 3 and parts[:2] == ["bot", "flows"]:
        return parts[2], "__init__"
    return None


def step_violations(edges: dict[str, set[str]]) -> list[str]:
    found = []
    for source, targets in edges.items():
        here = step_of(source)
        for target in targets:
            there = step_of(target)
            if here is None or there is None:
                continue  # the shell (app, slash, runtime) may use any part of a step
            (step, kind), (other, other_kind) = here, there
            if step == other:
                if other_kind not in SAME_STEP[kind]:
                    found.append(f"{source} -> {target}")
            elif not (kind in FLOW_LEVEL and other_kind == "flow"):
                found.append(f"{source} -> {target}")
    return sorted(found)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle found by a depth-first walk (empty when the graph is a DAG)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_checkers_catch_what_they_must() -> None:
    sample = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from bot.x import Y\n"
        "def f():\n"
        "    import json\n"
    )
    assert hidden_imports(sample) == [
        "1: TYPE_CHECKING",
        "2: TYPE_CHECKING",
        "3: from bot.x import Y",
        "5: import json",
    ]
    edges = {
        "bot.flows.go.blocks": {"bot.flows.go.flow"},  # backwards inside a step
        "bot.flows.go.listeners": {"bot.flows.execute.flow"},  # a listener reaching across
        "bot.flows.go.flow": {"bot.flows.execute.flow", "bot.flows.go.blocks"},  # fine
        "bot.flows.execute.flow": {"bot.flows.verify.blocks"},  # across, not to a flow
    }
    assert step_violations(edges) == [
        "bot.flows.execute.flow -> bot.flows.verify.blocks",
        "bot.flows.go.blocks -> bot.flows.go.flow",
        "bot.flows.go.listeners -> bot.flows.execute.flow",
    ]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if m != CLI],
    ids=[str(m.relative_to(ROOT)) for m in MODULES if m != CLI],
)
def test_no_module_hides_an_import(module: Path) -> None:
    assert hidden_imports(module.read_text()) == []


def test_every_step_has_the_same_files() -> None:
    steps = sorted(p for p in (ROOT / "flows").iterdir() if p.is_dir() and p.name != "__pycache__")
    assert [s.name for s in steps] == [
        "approve",
        "details",
        "execute",
        "go",
        "precheck",
        "propose",
        "verify",
        "window",
    ]
    for step in steps:
        names = {p.stem for p in step.glob("*.py")}
        assert {"__init__", "flow", "listeners"} <= names, step.name
        assert names <= {"__init__", "flow", "listeners", "blocks", "modals", "timed", "watch"}, (
            step.name
        )


def test_imports_inside_and_across_steps_go_one_way() -> None:
    assert step_violations(graph()) == []


def test_the_module_graph_of_bot_has_no_cycle() -> None:
    assert cycles(graph()) == []


def test_the_usage_lines_are_those_of_the_subcommands() -> None:
    assert set(messages.USAGE) == set(SUBCOMMANDS)
