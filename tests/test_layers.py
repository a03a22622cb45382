"""The import rule: the domain owns its ports and imports no backend, transport or web framework."""

from __future__ import annotations

import ast
from pathlib import Path

import parley

DOMAIN = Path(parley.__file__).parent / "domain"
FORBIDDEN = (
    "parley.backends",
    "parley.api",
    "parley.realtime",
    "parley.runtime",
    "parley.app",
    "fastapi",
    "starlette",
    "socketio",
    "engineio",
)


def _imported(path: Path) -> list[tuple[int, str]]:
    """Every module the file imports (lazily or under TYPE_CHECKING too), relative ones resolved."""
    package = "parley." + ".".join(path.relative_to(DOMAIN.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        package += ".__init__"
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level)[0]
                base = f"{anchor}.{base}" if base else anchor
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def _is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def test_the_domain_imports_no_backend_transport_or_framework() -> None:
    files = sorted(DOMAIN.rglob("*.py"))
    assert files, f"no domain modules under {DOMAIN}"
    offences: dict[str, str] = {}
    for path in files:
        for line, module in _imported(path):
            if _is_forbidden(module):
                offences.setdefault(f"{path.relative_to(DOMAIN.parent)}:{line}", module)
    assert not offences, "the domain must not import these:\n" + "\n".join(
        f"{where} imports {module}" for where, module in sorted(offences.items())
    )
