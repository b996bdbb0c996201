"""Search queries and Discover fields built from the grammar's own pieces: field names from
the catalogue, every aggregate function (and some that do not exist), typed values and
operators, groups and boolean words, and a little random text between them."""

from __future__ import annotations

from hypothesis import strategies as st

from sentry_stub.query.aggregates import FUNCTION_NAMES
from sentry_stub.query.fields import EVENT_FIELD_NAMES

FIELDS = st.sampled_from([*sorted(EVENT_FIELD_NAMES), "op", "span.op", "tags[x]", "tags.y"])
ARGUMENTS = st.one_of(FIELDS, st.sampled_from(["", "300", "0.5", "x", "a,b", "equals", '"x"']))
AGGREGATES = st.builds(
    lambda name, args: f"{name}({', '.join(args)})",
    st.sampled_from([*sorted(FUNCTION_NAMES), "nope", "count_if", "p100"]),
    st.lists(ARGUMENTS, max_size=3),
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "1",
            "-1",
            "1.5",
            "1e400",
            "99999999999999999999",
            "24h",
            "-14d",
            "2024-05-01",
            "2024-05-01T10:00:00+02:00",
            "true",
            "*",
            "a*b",
            "\\*",
            '"a b"',
            "[a, b]",
            "",
            ">",
            "<=5s",
        ]
    ),
    st.text(max_size=6),
)
TERMS = st.one_of(
    st.builds(
        lambda neg, key, op, value: f"{neg}{key}:{op}{value}",
        st.sampled_from(["", "!"]),
        st.one_of(FIELDS, AGGREGATES),
        st.sampled_from(["", ">", "<=", "!=", "="]),
        VALUES,
    ),
    st.builds(lambda key: f"has:{key}", FIELDS),
    st.sampled_from(["(", ")", "AND", "OR", "free text", '"quoted']),
    st.text(max_size=6),
)
QUERIES = st.lists(TERMS, max_size=6).map(" ".join)
SELECTED = st.lists(st.one_of(FIELDS, AGGREGATES, st.text(max_size=8)), max_size=4)
