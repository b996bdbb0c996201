"""The CLI's tables: numbers rounded for people, long values cut, a row count at the end."""

from __future__ import annotations

import pytest

from sentry_stub.cli import format_table


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2650.000000476837, "2650"),  # a duration from float timestamps
        (166.83333333333334, "166.83"),
        (-12.345, "-12.35"),
        (1 / 3, "0.333"),  # a failure rate
        (0.000123456, "0.000123"),
        (0.0, "0"),
        (1.0, "1"),
        (float("nan"), "nan"),
        (7, "7"),  # integers as they are
        (123456789, "123456789"),
        (None, ""),
        (True, "True"),
    ],
)
def test_numbers_are_rounded_for_reading(value: object, shown: str) -> None:
    assert format_table(["value"], [[value]]).splitlines()[2] == shown


def test_a_table_has_a_header_aligned_rows_and_a_count() -> None:
    text = format_table(["name", "p95"], [["/api/users", 2650.0004], ["/x", "a\nb" + "c" * 70]])
    assert text.splitlines() == [
        "name        p95",
        "----------  " + "-" * 60,
        "/api/users  2650",
        "/x          a b" + "c" * 54 + "...",
        "(2 rows)",
    ]
