"""The command line is the top of the package: it may import anything below it, but not the
``backprop`` face nor its peer ``backprop.sklearn``; it imports no private name of another
package, and imports backprop modules at module level only (a function-level import would hide
a cycle)."""

import ast
import pathlib

import backprop.cli

NOT_BELOW = ("backprop.sklearn",)


def _imports(path):
    """``(line, module, names, at module level)`` for each absolute import in ``path``."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}:{node.lineno}: relative import"
            yield node.lineno, node.module, [a.name for a in node.names], id(node) in top
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, [], id(node) in top


def test_cli_imports_only_downward_and_no_private_names():
    wrong = []
    for path in sorted(pathlib.Path(backprop.cli.__file__).parent.glob("*.py")):
        for line, module, names, top_level in _imports(path):
            where = f"{path.name}:{line}: {module}"
            if module.split(".")[0] != "backprop":
                continue
            if module == "backprop" or module.startswith(NOT_BELOW):
                wrong.append(f"{where} is not below the command line")
            if not top_level:
                wrong.append(f"{where} imported inside a function")
            if not module.startswith("backprop.cli"):
                wrong += [f"{where}.{n} is private" for n in names
                          if n.startswith("_") and not n.startswith("__")]
    assert wrong == []
