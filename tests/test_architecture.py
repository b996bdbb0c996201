"""The package's import rule (ARCHITECTURE.md, "The import rule") and its module size limit.

A unit is a direct subpackage or a top-level module of ``sentry_stub``; the package's own
``__init__``/``__main__`` are its face and are left out. Every import goes to the same unit or to
a unit of a lower layer (``LAYERS``, bottom first); units sharing a layer do not import each other.
Imports under ``if TYPE_CHECKING:`` are only for the type checker and are ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import sentry_stub

PACKAGE = Path(sentry_stub.__file__).parent
MAX_LINES = 600

# Bottom first: data flows up this list (protocol -> storage -> processing ...), and the edges
# (HTTP, the server, the client side) sit on top.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("settings",),  # value types and TOML validation: imports nothing of the package
    # The Sentry protocol, pure: envelope, item types, limits, payload readers; HTTP sent after
    # a commit (alert actions, forwarding); the export file format.
    ("protocol", "outbound", "export_format"),
    ("storage",),  # SQLite: the writer, acknowledged envelopes, reads; never what derives rows
    ("query",),  # search grammar -> SQL, Discover
    ("rules",),  # alert, ownership and action definitions (TOML), history, metric alerts
    ("processing",),  # derivation by item kind, grouping, issue alerts, normalization
    ("checks",),  # PII, sample rates, releases
    ("ingest",),  # the HTTP edge of ingestion
    ("forwarding",),  # envelopes sent on: forwarding after commit, replay
    ("config",),  # Settings: the TOML file and environment assembled
    ("api",),  # the native query API
    ("webapi",),  # the sentry-cli subset of Sentry's web API
    ("ui", "header_deadline", "sockets", "server_handle"),
    ("routing",),  # every route, over the handlers of ingest, api and webapi
    ("app",),
    ("server",),
    ("arguments", "hints", "snapshot", "records"),  # the client side, over HTTP
    ("client",),
    ("view", "process", "exports"),  # the per-test view; the server as a child process; files
    ("cli_transfer",),  # forwards, replay, export, import commands
    ("cli", "pytest_plugin"),
)
LAYER_OF = {unit: index for index, layer in enumerate(LAYERS) for unit in layer}


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(("sentry_stub", *parts)), path


def unit_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "sentry_stub" or len(parts) < 2 or parts[1] in ("__init__", "__main__"):
        return None
    return parts[1]


def type_checking_only(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for child in node.body for inner in ast.walk(child))
    return skipped


def imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every package import of ``module`` outside TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = type_checking_only(tree)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            for alias in node.names:  # a name is a module, or a name defined in ``stem``
                name = f"{stem}.{alias.name}"
                yield (name if is_module(name) else stem), node.lineno


def is_module(name: str) -> bool:
    path = PACKAGE.joinpath(*name.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_every_unit_has_a_layer() -> None:
    units = {unit_of(module) for module, _ in modules()} - {None}
    assert units - set(LAYER_OF) == set(), "add the new unit to LAYERS (and ARCHITECTURE.md)"
    assert set(LAYER_OF) - units == set(), "a unit in LAYERS no longer exists"


def test_imports_flow_down_the_layers() -> None:
    broken = []
    for module, path in modules():
        source = unit_of(module)
        if source is None:
            continue
        for target_module, line in imports(module, path):
            target = unit_of(target_module)
            if target is None or target == source:
                continue
            if LAYER_OF[target] >= LAYER_OF[source]:
                relation = "the same layer as" if LAYER_OF[target] == LAYER_OF[source] else "above"
                broken.append(
                    f"{module} (line {line}) imports {target_module}: `{target}` is {relation} "
                    f"`{source}`; the rule is that a unit imports only units of lower layers "
                    f"(tests/test_architecture.py LAYERS, ARCHITECTURE.md)"
                )
    assert not broken, "\n".join(broken)


def test_no_module_is_over_the_size_limit() -> None:
    long = [
        f"{module}: {lines} lines (the limit is {MAX_LINES}; split it by concept)"
        for module, path in modules()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_LINES
    ]
    assert not long, "\n".join(long)


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: a storage module importing processing is reported, named."""
    path = tmp_path / "bad.py"
    path.write_text("from ..processing.derive import derive_rows\nimport sentry_stub.app\n")
    found = list(imports("sentry_stub.storage.bad", path))
    assert found == [("sentry_stub.processing.derive", 1), ("sentry_stub.app", 2)]
    assert all(LAYER_OF[unit_of(target) or ""] > LAYER_OF["storage"] for target, _ in found)
