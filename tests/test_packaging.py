"""Packaging: every third-party module the server imports is a declared runtime dependency
(not only a dev one, nor there by accident as another package's dependency)."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "parley"


def _declared(group: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {_normal(Requirement(line).name) for line in lines}


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _imported_top_levels() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.partition(".")[0], path)
    return found


def test_every_imported_package_is_a_runtime_dependency() -> None:
    runtime = _declared()
    owners = packages_distributions()
    missing = {}
    for module, where in _imported_top_levels().items():
        if module == "parley" or module in sys.stdlib_module_names:
            continue
        distributions = {_normal(d) for d in owners.get(module, [])}
        assert distributions, f"{module} (imported in {where}) belongs to no installed package"
        if not distributions & runtime:
            missing[module] = (sorted(distributions), where.relative_to(ROOT))
    assert not missing, f"imported but not declared at runtime: {missing}"


def test_what_only_the_tests_use_is_not_installed_for_serving() -> None:
    assert not {"python-socketio", "aiohttp", "pytest", "moto"} & _declared()
    assert {"python-socketio", "aiohttp", "pytest", "moto"} <= _declared("dev")


def test_the_browser_pages_ship_in_the_package_with_the_fetched_client_build() -> None:
    """The pages are package files (a wheel carries them); socket.io-client's build is
    gitignored, so the wheel names it as an artifact, and only tests drive a browser."""
    web = SOURCE / "web"
    for name in ("index.html", "chat.js", "game.js", "ws.html", "ws.js", "admin.html", "admin.js"):
        assert (web / name).is_file(), name
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert "src/parley/web/vendor/socket.io.min.js" in wheel["targets"]["wheel"]["artifacts"]
    assert "src/parley/web/vendor/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "playwright" in _declared("dev")
    assert "playwright" not in _declared()
