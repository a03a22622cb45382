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


# -- the whole package: no cycles, the real-time rooms in their order, long modules explained --

PACKAGE = DOMAIN.parent


def _module_name(path: Path) -> str:
    name = "parley." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _graph() -> dict[str, set[str]]:
    """Module → the Parley modules it imports (package imports resolved to the package)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = {module for _, module in _imported(path)}
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_in_a_circle() -> None:
    assert _cycles(_graph()) == []


REALTIME = "parley.realtime"
MAY_NOT_IMPORT = {
    # The wire is bytes and protocols: nothing of hub connections, transports, chat or games.
    f"{REALTIME}.wire": (
        f"{REALTIME}.hub",
        f"{REALTIME}.connection",
        f"{REALTIME}.transports",
        f"{REALTIME}.chat",
        f"{REALTIME}.gameplay",
        f"{REALTIME}.dialects",
        "parley.domain",
        "parley.api",
    ),
    f"{REALTIME}.transports": (f"{REALTIME}.chat", f"{REALTIME}.gameplay"),
    f"{REALTIME}.chat": (f"{REALTIME}.gameplay",),
    f"{REALTIME}.gameplay": (f"{REALTIME}.chat",),
    f"{REALTIME}.dialects": (REALTIME + ".",),
}


def test_realtime_rooms_import_downwards_only() -> None:
    offences = []
    for module, imported in sorted(_graph().items()):
        for room, forbidden in MAY_NOT_IMPORT.items():
            if module != room and not module.startswith(room + "."):
                continue
            for target in sorted(imported):
                if target.startswith(room):
                    continue
                if any(target == f or target.startswith(f.rstrip(".") + ".") for f in forbidden):
                    offences.append(f"{module} imports {target}")
    assert not offences, "\n".join(offences)


LONG = 400
REASON = "Why one module:"


def test_long_modules_say_why() -> None:
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG and REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(str(path.relative_to(PACKAGE)))
    assert not unexplained, f"over {LONG} lines without {REASON!r} in the docstring: {unexplained}"
