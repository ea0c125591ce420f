"""docs/architecture.md's module table is the import rule: each module imports only the llmpulse
modules its row allows (every import, lazy ones included), so the table stays true as code moves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "exporter" / "llmpulse"
DOC = REPO / "docs" / "architecture.md"
UNRESTRICTED = ("anything", "any of the above")


def _rules() -> dict[str, set[str]]:
    """module (dotted, below llmpulse) -> llmpulse modules it may import, from the table's rows."""
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("| module | stage | may import"):].split("\n\n", 1)[0]
    rules: dict[str, set[str]] = {}
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        modules, allowed = cells[0], cells[-1]
        if any(allowed.startswith(u) for u in UNRESTRICTED):
            continue
        names = set(re.findall(r"`([\w.*]+)`", allowed.split("never")[0].split(";")[0]))
        for m in re.findall(r"`([\w/]+)\.py`", modules):
            rules[m.replace("/", ".")] = names
    return rules


def _imports(path: Path) -> set[str]:
    """The llmpulse modules a file imports, relative to the package (`from llmpulse.a import b` -> a)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("llmpulse"):
            mod = node.module.removeprefix("llmpulse").lstrip(".")
            if mod:
                out.add(mod)
            else:                                   # from llmpulse import a, b
                out.update(alias.name for alias in node.names if alias.name != "__version__")
        elif isinstance(node, ast.Import):
            out.update(a.name.removeprefix("llmpulse.") for a in node.names if a.name.startswith("llmpulse."))
    return out


RULES = _rules()


def test_the_table_names_the_modules_it_rules():
    for name in ("records", "metrics", "crossspan", "pipeline", "config", "forward", "typed"):
        assert name in RULES, name
    for name in RULES:
        assert (PACKAGE / (name.replace(".", "/") + ".py")).is_file(), f"{name}.py named in the table does not exist"


@pytest.mark.parametrize("module", sorted(RULES))
def test_each_module_imports_only_what_its_row_allows(module):
    used = _imports(PACKAGE / (module.replace(".", "/") + ".py"))
    allowed = RULES[module]
    assert sorted(m for m in used if m.split(".")[0] not in allowed and m not in allowed) == [], \
        f"{module}.py imports modules docs/architecture.md does not allow it; change the code or the table"


def test_config_loads_without_forwarding_or_requests():
    """The table's one 'never': config.py stays importable without the forwarding stack."""
    assert not {"forward", "forward_http"} & _imports(PACKAGE / "config.py")
