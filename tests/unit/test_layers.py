"""The core is pure: standard library only, no asyncio, no I/O libraries, no adapters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "service" / "efir" / "core"
FORBIDDEN_STDLIB = {
    "asyncio",
    "socket",
    "sqlite3",
    "subprocess",
    "threading",
    "urllib",
    "http",
    "ssl",
    "selectors",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_only_stdlib_and_core() -> None:
    """Every import in efir.core is stdlib (minus I/O modules) or efir.core itself."""
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if name.startswith("efir.core") or name == "__future__":
                continue
            if top == "efir" or top not in sys.stdlib_module_names or top in FORBIDDEN_STDLIB:
                offenders.append(f"{path.relative_to(CORE)}: {name}")
    assert not offenders, offenders


def test_importing_the_core_loads_no_adapter_library() -> None:
    """A fresh interpreter importing every core module has no pydantic, yaml, asyncio loaded."""
    modules = [
        "efir.core." + ".".join(p.relative_to(CORE).with_suffix("").parts)
        for p in CORE.rglob("*.py")
        if p.stem != "__init__"
    ]
    assert any(m.startswith("efir.core.alerting.") for m in modules)
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        + "{'pydantic', 'yaml', 'asyncio', 'typer', 'rich', 'sqlalchemy', 'aiomqtt'})\n"
        + "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
