"""The package stands on its dependencies' public parts: no import of an underscore module or name
of Sphinx, docutils, myst-nb, myst-parser, jupyter-cache, jupyter-book, Jinja or the theme, and
no replacing of their functions, methods or module globals (a patch breaks silently on their
next release). Storing the extension's own data on Sphinx's `env` is their documented pattern."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zzreview"
GUARDED = {"sphinx", "docutils", "myst_nb", "myst_parser", "jupyter_cache", "jupyter_book", "jinja2",
           "sphinx_book_theme", "pydata_sphinx_theme", "nbclient", "nbformat"}


def _guarded(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in GUARDED


def findings(source: str, where: str) -> list[str]:
    found, bound = [], set()  # names bound to a guarded module or to something imported from one
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _guarded(alias.name):
                    bound.add((alias.asname or alias.name).split(".")[0])
                    if any(part.startswith("_") for part in alias.name.split(".")):
                        found.append(f"{where}:{node.lineno}: imports private {alias.name}")
        elif isinstance(node, ast.ImportFrom) and _guarded(node.module):
            if any(part.startswith("_") for part in node.module.split(".")):
                found.append(f"{where}:{node.lineno}: imports from private {node.module}")
            for alias in node.names:
                bound.add(alias.asname or alias.name)
                if alias.name.startswith("_"):
                    found.append(f"{where}:{node.lineno}: imports private {node.module}.{alias.name}")
    for node in ast.walk(ast.parse(source)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        targets = [t for target in targets for t in (target.elts if isinstance(target, (ast.Tuple, ast.List))
                                                     else [target])]
        for target in targets:
            base = target
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(target, ast.Attribute) and isinstance(base, ast.Name) and base.id in bound:
                found.append(f"{where}:{node.lineno}: replaces {ast.unparse(target)}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in bound:
            found.append(f"{where}:{node.lineno}: setattr on {node.args[0].id}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                found.append(f"{where}:{node.lineno}: uses private {ast.unparse(node)}")
    return found


def test_the_package_uses_only_its_dependencies_public_parts():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += findings(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    assert found == []


@pytest.mark.parametrize("source", [
    "from sphinx.search import IndexBuilder\nIndexBuilder.prune = lambda self, d: None\n",
    "import sphinx.search\nsphinx.search.IndexBuilder.prune = None\n",
    "from myst_nb.core.execute import _private\n",
    "from sphinx.util import _pycompat\n",
    "from sphinx.jinja2glue import BuiltinTemplateLoader as L\nfrom sphinx.util.template import BaseRenderer\n"
    "L.init, BaseRenderer.__init__ = 1, 2\n",
    "import jinja2\nsetattr(jinja2, 'Environment', None)\n",
    "from sphinx.search import IndexBuilder\ndef f(b: IndexBuilder):\n    return IndexBuilder._mapping\n",
])
def test_the_check_sees_a_patch_and_a_private_import(source):
    assert findings(source, "example.py")
