"""The package's layers: the contract holds, catches an import that runs back up, covers all.

And the core is pure: standard library only, no asyncio, no I/O libraries, no adapters.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "service" / "efir"
CORE = PACKAGE / "core"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
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


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return [name.strip() for layer in contract["layers"] for name in layer.split("|")]


def _lint_imports(
    root: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        env=env,
    )


def test_the_layers_contract_holds() -> None:
    """import-linter finds every contract kept on the package as it is."""
    out = _lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_every_module_of_the_package_is_in_a_layer() -> None:
    """A new top-level module or package must be placed in the picture, not left out of it."""
    layered = {name.removeprefix("efir.") for name in _layers()}
    present = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert present - layered == set(), f"not in a layer of pyproject.toml: {present - layered}"
    assert layered - present == set(), f"layers name modules that do not exist: {layered - present}"


def test_the_layers_contract_fails_on_an_import_that_runs_back_up(tmp_path: Path) -> None:
    """A copy of the package where the core imports the daemon breaks the contract, by name."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    copy = tmp_path / "service" / "efir"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    timebase = copy / "core" / "timebase.py"
    timebase.write_text(
        timebase.read_text(encoding="utf-8") + "\nimport efir.daemon.monitor  # noqa\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "service")}
    out = _lint_imports(tmp_path, env)
    assert out.returncode != 0, out.stdout
    assert "Layers: from the CLI at the top to the core at the bottom BROKEN" in out.stdout
    assert "efir.core.timebase -> efir.daemon.monitor" in out.stdout
