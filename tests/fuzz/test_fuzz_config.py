"""The config loaders under damaged real configs: a ``Settings`` or one ``ConfigError``.

The examples shipped in ``examples/`` (projects, scrubbing, limits, faults, alerts, metric
alerts, ownership) are damaged as text (then read as a file) or as parsed TOML (a value
replaced, removed, or an unknown key added); the fault rules the API takes are fuzzed on
their own. Nothing but the loader's own error type may escape, and it must name something.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from sentry_stub.config import ConfigError, load_config_file, parse_config
from sentry_stub.ingest.faults import KINDS, FaultRuleError, parse_fault_rule
from tests.fuzz.mutations import FUZZ, mutated

EXAMPLES = Path(__file__).parents[2] / "examples"
CONFIGS = st.sampled_from(sorted(EXAMPLES.glob("*.toml"))).map(Path.read_bytes)
TOML_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["production", "agentsflowai-backend", "0123456789abcdef" * 2, "**/x"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def damaged_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A parsed example config with a few of its values (at any depth) changed."""
    document = tomllib.loads(draw(CONFIGS).decode())
    for _ in range(draw(st.integers(1, 4))):
        _damage(draw, document)
    return document


def _damage(draw: st.DrawFn, node: Any) -> None:
    while True:
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        containers = [(k, v) for k, v in children if isinstance(v, dict | list) and v]
        if not containers or draw(st.booleans()):
            break
        _, node = draw(st.sampled_from(containers))
    keys = list(node) if isinstance(node, dict) else list(range(len(node)))
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "add" and isinstance(node, dict):
        node[draw(st.text(max_size=8))] = draw(TOML_VALUES)
    elif keys and action == "delete":
        del node[draw(st.sampled_from(keys))]
    elif keys:
        node[draw(st.sampled_from(keys))] = draw(TOML_VALUES)


@FUZZ
@given(damaged_documents())
# Found by this test: a [server] or projects of the wrong type, and port = inf, raised
# TypeError or OverflowError instead of a ConfigError naming the key.
@example({"server": 1})
@example({"server": ["host"]})
@example({"server": {"port": float("inf")}})
@example({"projects": 5})
# Found by the long run: a clause id that is not a string (a list) raised TypeError.
@example({"alerts": [{"name": "x", "filters": [{"id": ["tagged_event"]}]}]})
def test_damaged_configs_load_or_name_the_problem(document: dict[str, Any]) -> None:
    try:
        parse_config(document)
    except ConfigError as error:
        assert str(error)


@FUZZ
@given(mutated(CONFIGS))
# Found by this test: a file that is not UTF-8 raised UnicodeDecodeError.
@example(b'[[projects]]\nslug = "caf\xe9"\n')
def test_damaged_config_files_load_or_name_the_problem(tmp_path_factory: Any, text: bytes) -> None:
    path = tmp_path_factory.mktemp("config") / "sentry-stub.toml"
    path.write_bytes(text)
    try:
        load_config_file(str(path))
    except ConfigError as error:
        assert str(path) in str(error) or str(error)


@FUZZ
@given(
    st.one_of(
        st.dictionaries(
            st.sampled_from(
                [
                    "kind",
                    "project",
                    "key",
                    "categories",
                    "count",
                    "duration",
                    "retry_after",
                    "scope",
                    "reason_code",
                    "status",
                    "detail",
                    "seconds",
                    "x",
                ]
            ),
            st.one_of(TOML_VALUES, st.sampled_from([*KINDS, "error", "transaction", 429, 0.5])),
            max_size=6,
        ),
        TOML_VALUES,
    )
)
def test_fault_rules_parse_or_name_the_key(data: Any) -> None:
    try:
        parse_fault_rule(data, "faults[0].")
    except FaultRuleError as error:
        assert str(error)
