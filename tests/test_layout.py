"""The layout's rules that import-linter cannot see (its contracts are in pyproject.toml and run
in `make lint`): only the entry points (`muzero/cli/`) read argv or stdin or print, and modules
and functions stay small enough to read in one sitting."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "muzero"
MODULES = sorted(PACKAGE.rglob("*.py"))
LIBRARY = [m for m in MODULES if "cli" not in m.relative_to(PACKAGE).parts]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60  # the body, without its docstring


def _name(path: pathlib.Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_the_layout_is_found():
    assert len(LIBRARY) > 30 and len(MODULES) > len(LIBRARY)


@pytest.mark.parametrize("path", LIBRARY, ids=_name)
def test_the_library_reads_no_argv_or_stdin_and_prints_nothing(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("print", "input"), f"{_name(path)}:{node.lineno}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            use = f"{node.value.id}.{node.attr}"
            assert use not in ("sys.argv", "sys.stdin", "sys.stdout"), (
                f"{_name(path)}:{node.lineno}"
            )
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert "argparse" not in names, f"{_name(path)}:{node.lineno} imports argparse"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_and_functions_stay_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{_name(path)} is over {MAX_MODULE_LINES}"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:] or body
            length = node.end_lineno - body[0].lineno + 1
            assert length <= MAX_FUNCTION_LINES, (
                f"{_name(path)}:{node.lineno} {node.name} has {length} lines"
            )
