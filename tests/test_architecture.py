"""The house rules the code keeps, checked on every import statement (module level and inside functions):
the core and the trainer have no Qt, the core never reaches into the window, the trainer never into the app,
the module-level imports form no cycle, and the trainer's parts are layers (each imports only its own layer or
lower ones, so the parts form no cycle even counting the imports inside functions)."""

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


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_module_level_imports_form_no_cycle():
    graph = {name: {t for t in _imports(path, module_level_only=True) if t in MODULES and t != name}
             for name, path in MODULES.items()}
    assert _cycles(graph) == []


def test_no_cycle_anywhere_counting_imports_inside_functions():
    """Not even a deferred import closes a loop: every module of the app and the trainer can be read in an order
    where each comes after what it uses (#29)."""
    graph = {name: {t for t in _imports(path) if t in MODULES and t != name} for name, path in MODULES.items()}
    assert _cycles(graph) == []


# The trainer's layers, lowest first: a module imports from its own layer or lower ones only (docs/architecture.md).
TRAINER_LAYERS = (
    ("shared", ("trainer", "trainer.errors", "trainer.progress", "trainer.quiet", "trainer.shipped", "trainer.names")),
    ("data", ("trainer.data",)),
    ("models", ("trainer.models",)),
    ("bundle", ("trainer.bundle",)),
    ("configuration", ("trainer.config", "trainer.presets")),
    ("evaluation", ("trainer.evaluation",)),
    ("training", ("trainer.training",)),
    ("experiments", ("trainer.experiments",)),
    ("entry points", ("trainer.cli", "trainer.api", "trainer.worker", "trainer.__main__")),
)


def _trainer_module(target: str) -> str | None:
    """The trainer module an import names (``trainer.x.y`` for ``from trainer.x.y import name``)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target if target.startswith("trainer") and (target == "trainer" or target.startswith("trainer.")) else None


def _trainer_layer(module: str) -> int:
    for rank, (_, members) in enumerate(TRAINER_LAYERS):
        if any(module == m or (m != "trainer" and module.startswith(m + ".")) for m in members):
            return rank
    raise AssertionError(f"{module} is in none of the trainer's layers; add it to TRAINER_LAYERS")


def _trainer_part(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_trainer_module_imports_from_its_own_layer_or_lower_ones():
    upward = []
    for name, path in MODULES.items():
        if not (name == "trainer" or name.startswith("trainer.")):
            continue
        rank = _trainer_layer(name)
        for target in sorted(filter(None, map(_trainer_module, _imports(path)))):
            if _trainer_layer(target) > rank:
                upward.append(f"{name} ({TRAINER_LAYERS[rank][0]}) imports {target} "
                              f"({TRAINER_LAYERS[_trainer_layer(target)][0]})")
    assert upward == []


def test_the_trainer_parts_form_no_cycle_counting_imports_inside_functions():
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        if name == "trainer" or name.startswith("trainer."):
            targets = {_trainer_part(t) for t in filter(None, map(_trainer_module, _imports(path)))}
            graph.setdefault(_trainer_part(name), set()).update(targets - {_trainer_part(name)})
    for targets in list(graph.values()):
        for target in targets:
            graph.setdefault(target, set())
    assert {"trainer.bundle", "trainer.training", "trainer.experiments"} <= set(graph)
    assert _cycles(graph) == []


def test_no_module_grows_past_the_house_limit():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}, f"split these modules (over ~400 lines): {long}"


def test_the_window_reaches_the_trainer_through_its_facade_only():
    reaching_past = [v for v in _violations("melanoma_desktop.ui", ("trainer",))
                     if not v.split(" imports ")[1].startswith("trainer.api")]
    assert reaching_past == [], "import these through trainer.api"


def test_every_name_of_the_facade_resolves_and_none_needs_keras():
    import subprocess
    import sys

    probe = ("import sys, trainer.api as api; [getattr(api, n) for n in api.__all__]; "
             "print(sorted(m for m in ('keras', 'tensorflow', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_the_trainer_is_split_into_its_parts():
    parts = {name.split(".")[1] for name in MODULES if name.count(".") >= 2 and name.startswith("trainer.")}
    assert parts == {"data", "models", "bundle", "evaluation", "training", "experiments"}
    top = sorted(name for name in MODULES if name.startswith("trainer.") and name.count(".") == 1
                 and name.split(".")[1] not in parts)
    assert len(top) <= 12, top  # entry points and what every part shares (config, errors, progress, ...)


def test_dialogs_and_views_reach_the_database_through_controllers_only():
    """No dialog or view imports the case database or opens one; they are given a controller (#28)."""
    ui = ROOT / "melanoma_desktop" / "ui"
    views = [p for p in sorted(ui.rglob("*.py")) if p.stem.endswith(("_dialog", "_view", "_panel", "dialogs"))
             or p.stem in ("worklist", "viewer", "case_heatmaps")]
    assert len(views) >= 10
    reaching = {p.name: sorted(i for i in _imports(p) if i.startswith("melanoma_desktop.core.database"))
                for p in views}
    assert {k: v for k, v in reaching.items() if v} == {}
    opening = [p.name for p in views if "CaseDatabase" in p.read_text(encoding="utf-8")]
    assert opening == []


def test_the_window_has_controllers_not_mixins():
    """#29: no class of ui/ is built from several bases (a mixin borrowing the window's attributes); the window's
    work is done by controllers (QObjects with signals) that it holds, and the window holds four of them."""
    ui = ROOT / "melanoma_desktop" / "ui"
    mixed = [f"{p.name}: {node.name}" for p in sorted(ui.rglob("*.py"))
             for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(node, ast.ClassDef) and (len(node.bases) > 1 or node.name.endswith(("Mixin", "Actions")))]
    assert mixed == []
    window = ast.parse((ui / "main_window.py").read_text(encoding="utf-8"))
    held = {node.func.id for node in ast.walk(window) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name) and node.func.id.endswith("Controller")}
    assert {"TriageController", "ReportController", "ClinicController", "CaseController"} <= held


def test_the_headless_commands_load_no_qt():
    """`melanoma-desktop triage ...` and the other commands work on a server without a display: the entry point and
    the command modules import no PySide6 (the window's modules are imported only when the window opens)."""
    import subprocess
    import sys

    probe = ("import sys, melanoma_desktop.__main__, melanoma_desktop.cli, melanoma_desktop.clinic_cli, "
             "melanoma_desktop.adapt_cli, melanoma_desktop.storage_cli; "
             "print(sorted(m for m in sys.modules if m.startswith('PySide6')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
