"""The helpers modules import one another without a circle: each layer imports only the layers below it."""

import ast
from pathlib import Path

HELPERS = Path(__file__).resolve().parent.parent / "helpers"


def module_name(path: Path) -> str:
    """Return a helpers file's dotted module name; a package's __init__.py is the package itself."""
    parts = path.relative_to(HELPERS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(HELPERS.rglob("*.py"))}


def _imported_from(name: str, is_package: bool, node: ast.ImportFrom) -> str:
    """Return the absolute name of the module a `from ... import` statement reads from, relative ones resolved."""
    if not node.level:
        return node.module or ""
    package = name.split(".") if is_package else name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(name: str, source: str, is_package: bool = False) -> set[str]:
    """Return the helpers modules that a module's source imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _imported_from(name, is_package, node)
            # `from helpers import house_style` imports a module; `from helpers.exercises import Feedback`, a name of a package.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in MODULES and target != name}
    return found


def import_graph() -> dict[str, set[str]]:
    """Return {helpers module: the helpers modules it imports}."""
    return {
        name: imported_modules(name, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")
        for name, path in MODULES.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import circle as the modules along it, the first repeated at the end, or None when there is none."""
    finished: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in finished:
            return None
        for imported in sorted(graph.get(module, ())):
            cycle = visit(imported, path + [module])
            if cycle:
                return cycle
        finished.add(module)
        return None

    return next(filter(None, (visit(module, []) for module in sorted(graph))), None)


def test_the_helpers_modules_import_one_another_without_a_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "the helpers modules import one another in a circle: " + " → ".join(cycle)


def test_every_helpers_module_is_read():
    assert {"helpers", "helpers.company", "helpers.house_style", "helpers.exercises", "helpers.exercises.monitoring"} <= set(MODULES)
    assert "helpers.company" in import_graph()["helpers.house_style"]


def test_an_import_inside_a_function_counts():
    source = "import pandas\nfrom helpers.i18n import _\n\ndef policies():\n    from helpers.support_desk import build_dataset\n"
    assert imported_modules("helpers.house_style", source) == {"helpers.i18n", "helpers.support_desk"}


def test_module_and_relative_imports_are_resolved():
    source = "import helpers.topics\nfrom helpers import company\nfrom . import Feedback\nfrom .fine_tuning import unknown_argument\n"
    assert imported_modules("helpers.exercises.monitoring", source) == {
        "helpers.topics", "helpers.company", "helpers.exercises", "helpers.exercises.fine_tuning",
    }
    assert imported_modules("helpers.exercises", "from .monitoring import check_best_step\n", is_package=True) == {
        "helpers.exercises.monitoring"
    }


def test_a_circle_is_named_module_by_module():
    graph = {"helpers.a": {"helpers.b"}, "helpers.b": {"helpers.c"}, "helpers.c": {"helpers.a"}, "helpers.d": {"helpers.a"}}
    assert find_cycle(graph) == ["helpers.a", "helpers.b", "helpers.c", "helpers.a"]
    assert find_cycle({"helpers.a": {"helpers.b"}, "helpers.b": set(), "helpers.c": {"helpers.a", "helpers.b"}}) is None
