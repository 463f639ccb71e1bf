"""The data package sits below nn, optim, io and train: it imports only the leaf modules
(backprop._utils, backprop._kernels) and itself, at module level and inside functions alike."""

import ast
import pathlib

import backprop.data

ALLOWED = ("backprop._utils", "backprop._kernels", "backprop.data")


def test_data_imports_only_the_leaves_and_itself():
    folder = pathlib.Path(backprop.data.__file__).parent
    wrong = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                assert not (isinstance(node, ast.ImportFrom) and node.level), \
                    f"{path.name}:{node.lineno}: relative import"
                continue
            wrong += [f"{path.name}:{node.lineno}: {n}" for n in names
                      if n.split(".")[0] == "backprop"
                      and not any(n == a or n.startswith(a + ".") for a in ALLOWED)]
    assert wrong == []
