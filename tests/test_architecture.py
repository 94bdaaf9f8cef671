"""The house rules the code keeps, checked on every import statement (module level and inside functions):
the core and the trainer have no Qt, the core never reaches into the window, the trainer never into the app,
and the module-level imports form no cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules():
    for package in ("trainer", "melanoma_desktop"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def _imports(path: Path, module_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = dict(_modules())


def _violations(prefix: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{name} imports {target}" for name, path in MODULES.items() if name.startswith(prefix)
            for target in sorted(_imports(path)) if target.startswith(forbidden)]


def test_the_trainer_and_the_core_have_no_qt():
    assert _violations("trainer", ("PySide6", "shiboken6")) == []
    assert _violations("melanoma_desktop.core", ("PySide6", "shiboken6")) == []


def test_the_core_never_imports_the_window_and_the_trainer_never_imports_the_app():
    assert _violations("melanoma_desktop.core", ("melanoma_desktop.ui",)) == []
    assert _violations("trainer", ("melanoma_desktop",)) == []


def test_module_level_imports_form_no_cycle():
    graph = {name: {t for t in _imports(path, module_level_only=True) if t in MODULES and t != name}
             for name, path in MODULES.items()}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for name in graph:
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_module_grows_past_the_house_limit():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}, f"split these modules (over ~400 lines): {long}"
