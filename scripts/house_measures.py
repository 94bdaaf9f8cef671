"""The house's measures (#29), counted from the source with Python's `ast`: the largest classes and modules, reads
by string key (`x["key"]`), imports inside functions, and the files that name an architecture as a string literal.

    python scripts/house_measures.py            # melanoma_desktop/ and trainer/, the migrations left out
"""

import ast
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURES = ("cnn", "vgg16", "mobilenetv2")


def source_files() -> list[Path]:
    return [p for package in ("melanoma_desktop", "trainer") for p in sorted((ROOT / package).rglob("*.py"))
            if "migrations" not in p.parts]


def _class_size(node: ast.ClassDef, mixins: dict[str, ast.ClassDef]) -> tuple[int, int]:
    """Lines and methods of a class, with those of the project's own base classes (its mixins) added."""
    lines = node.end_lineno - node.lineno + 1
    methods = sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in node.body)
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id in mixins:
            more = _class_size(mixins[base.id], mixins)
            lines, methods = lines + more[0], methods + more[1]
    return lines, methods


def measure() -> dict:
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in source_files()}
    classes = {n.name: n for tree in trees.values() for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    key_reads = 0
    literal_files: Counter = Counter()
    for path, tree in trees.items():
        named = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and isinstance(node.slice.value, str) and isinstance(node.ctx, ast.Load):
                key_reads += 1
            elif isinstance(node, ast.Constant) and node.value in ARCHITECTURES:
                named.add(node.value)
        literal_files.update(named)
    # An import statement anywhere but the module's top level (in a function, or a try/if at the top counts too).
    inner_imports = sum(1 for tree in trees.values() for node in ast.walk(tree)
                        if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in tree.body)
    sizes = {name: _class_size(node, classes) for name, node in classes.items()}
    modules = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in trees}
    return {
        "largest classes (lines, methods, with their mixins)":
            sorted(sizes.items(), key=lambda kv: -kv[1][0])[:5],
        "largest modules (lines)": sorted(modules.items(), key=lambda kv: -kv[1])[:5],
        "reads by string key": key_reads,
        "imports inside functions": inner_imports,
        "files naming an architecture as a string": dict(literal_files),
        "mixin classes in ui/": sorted(n.name for p, t in trees.items() if "ui" in p.parts for n in ast.walk(t)
                                       if isinstance(n, ast.ClassDef) and n.name.endswith(("Actions", "Mixin"))),
    }


def main() -> int:
    for what, value in measure().items():
        print(f"{what}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
