"""The README as the manual: it fails when a command, option or public name goes undocumented.

In the manner of sqlite-utils' ``tests/test_docs.py``: the CLI's own parser and the package's
``__all__`` say what exists, the README must name each of them where people look for it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import sentry_stub
from sentry_stub.cli import _parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def section(title: str) -> str:
    """The text of the README section (``## ...``) whose heading is ``title``."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, f"README has no section '## {title}'"
    return match.group(1)


COMMANDS = section("The `sentry-stub` command")


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command and sub-command (``check pii``) with its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield (*path, name), subparser
                yield from commands(subparser, (*path, name))


def options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        option
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        for option in action.option_strings
        if option.startswith("--")
    ]


def mentions(rows: str, option: str) -> bool:
    """Whether ``option`` opens a code span of ``rows`` as a whole token (``--allow`` is not
    found in ``--allowed-host``)."""
    return re.search(rf"`{re.escape(option)}(?![\w-])", rows) is not None


def rows_of(path: tuple[str, ...]) -> str:
    """The reference table's rows for a command; a check's include the row every check shares."""
    prefixes = [f"| `sentry-stub {' '.join(path)}"]
    if path[0] == "check":
        prefixes.append("| every `check`")
    return "\n".join(line for line in COMMANDS.splitlines() if line.startswith(tuple(prefixes)))


ALL_COMMANDS = [path for path, parser in commands(_parser()) if not parser._subparsers]


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_and_its_options_are_in_the_reference(path: tuple[str, ...]) -> None:
    parser = dict(commands(_parser()))[path]
    rows = rows_of(path)
    assert rows, f"`sentry-stub {' '.join(path)}` has no row in the README's command reference"
    missing = [option for option in options(parser) if not mentions(rows, option)]
    assert not missing, f"`sentry-stub {' '.join(path)}`: {missing} missing from its README row"


def test_the_reference_names_no_command_that_does_not_exist() -> None:
    documented = set()
    for usage in re.findall(r"^\| `sentry-stub ([^`]*)`", COMMANDS, re.M):
        words = [w for w in usage.split() if re.fullmatch(r"[a-z]+", w)]  # not ARGS, --options
        if words:
            documented.add(" ".join(words))
    assert documented == {" ".join(path) for path in ALL_COMMANDS}


def test_the_top_level_options_are_in_the_reference() -> None:
    for option in options(_parser()):
        assert f"`sentry-stub {option}`" in COMMANDS


def test_every_public_name_is_in_the_python_api_section() -> None:
    api = section("Python API")
    missing = [name for name in sentry_stub.__all__ if not mentions(api, name)]
    assert not missing, f"{missing} are in sentry_stub.__all__ but not in the README's Python API"


def test_every_name_in_the_python_api_section_is_public() -> None:
    first_cells = re.findall(r"^\| (`[^|]*) \|", section("Python API"), re.M)
    documented = {name for cell in first_cells for name in re.findall(r"`(\w+)", cell)}
    assert documented, "no names found in the README's Python API table"
    unknown = documented - set(sentry_stub.__all__)
    assert not unknown, f"{sorted(unknown)} are in the README's Python API but not in __all__"


def test_every_link_inside_the_readme_points_at_a_heading() -> None:
    headings = re.findall(r"^#+ (.+)$", README, re.M)
    anchors = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
    links = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert links, "the README links nothing inside itself any more: is this test still needed?"
    assert links <= anchors, f"links to no heading: {sorted(links - anchors)}"
