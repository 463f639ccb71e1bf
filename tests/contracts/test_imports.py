"""The package's dependency rule, read from the source with ``ast``.

Tiers (lower first): the leaves ``_version``, ``_utils``, ``_kernels``; then ``nn``, ``optim``
and ``data``, which never import each other; ``saving`` and ``gradcheck``; ``train`` and
``export``; ``model``, ``plotting`` and ``diagram``; ``cli`` and ``sklearn``; the package
face.  A module may import its own package and any lower tier, never a higher one or a sibling
of its tier; imports inside functions are for optional third-party packages only; no
``_private`` name is imported from another package; and no two modules import each other,
directly or through others.
"""

import ast
import pathlib

import pytest

import backprop

ROOT = pathlib.Path(backprop.__file__).parent

TIERS = {
    "_version": 0, "_utils": 0, "_kernels": 1,
    "nn": 2, "optim": 2, "data": 2,
    "saving": 3, "gradcheck": 3,
    "train": 4, "export": 4,
    "model": 5, "plotting": 5, "diagram": 5,
    "cli": 6, "sklearn": 6,
    "__init__": 7, "__main__": 7,
}
SHARED_PRIVATE = {"_utils", "_kernels", "_version"}  # internal leaves every package uses


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def group(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def imports(path: pathlib.Path):
    """``(target module, imported names, at module level?, line)`` for every import of a
    backprop module (``if TYPE_CHECKING:`` blocks count as module level)."""
    tree = ast.parse(path.read_text())
    top = set()
    for node in tree.body:
        top.add(node)
        if isinstance(node, ast.If):
            top.update(node.body)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "backprop":
            names = [a.name for a in node.names]
            for name in names:  # `from backprop.nn import propagation` imports a module
                sub = f"{node.module}.{name}"
                target = sub if sub in MODULES else node.module
                found.append((target, [name], node in top, node.lineno))
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append(("<relative>", [], node in top, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "backprop":
                    found.append((alias.name, [], node in top, node.lineno))
    return found


def test_the_tiers_cover_every_module():
    assert {group(m) for m in MODULES} <= set(TIERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    own = group(module)
    problems = []
    for target, names, at_top, line in imports(MODULES[module]):
        where = f"{module}:{line} imports {target}"
        if target == "<relative>":
            problems.append(f"{module}:{line}: relative import (use absolute ones)")
            continue
        other = group(target)
        if not at_top:
            problems.append(f"{where} inside a function")
        if other != own and TIERS[other] >= TIERS[own]:
            problems.append(f"{where}, which is not below it")
        for name in names:
            dunder = name.startswith("__") and name.endswith("__")
            if other != own and name.startswith("_") and not dunder \
                    and name not in SHARED_PRIVATE:
                problems.append(f"{where}: private name {name}")
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    graph = {m: {t for t, _, _, _ in imports(p) if t in MODULES and t != m}
             for m, p in MODULES.items()}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_a_wrong_import_is_caught(tmp_path):
    """The checker itself: an upward import and a function-level one are reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from backprop.train import fit\n\n"
                   "def f():\n    from backprop.saving import save\n")
    found = imports(bad)
    assert ("backprop.train", ["fit"], True, 1) in found
    assert ("backprop.saving", ["save"], False, 4) in found
