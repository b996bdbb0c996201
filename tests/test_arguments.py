"""Wrong argument types fail at once, naming the method, the parameter and the right form.

Each public method of the client and of the per-test view is called with a wrong type for each
of its parameters; none of these calls may reach the server (the client points nowhere).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from sentry_stub.client import StubClient
from sentry_stub.records import Event
from sentry_stub.view import StubView

NOWHERE = "http://127.0.0.1:9"  # the discard port: a call that got through would fail otherwise
LOOSE = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class WrongType:
    """A value of no type any public method takes."""

    def __repr__(self) -> str:
        return "<wrong>"


def view() -> StubView:
    return StubView(StubClient(NOWHERE), cursor=0)


def public_methods(cls: type) -> list[tuple[str, str]]:
    """(method, parameter) for every checked parameter of every public method."""
    found = []
    for name, member in vars(cls).items():
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        hints = typing.get_type_hints(inspect.unwrap(member))
        for parameter in inspect.signature(member).parameters.values():
            typed = hints.get(parameter.name, Any) is not Any
            if parameter.name != "self" and parameter.kind not in LOOSE and typed:
                found.append((name, parameter.name))
    return found


PLAUSIBLE: dict[Any, Any] = {str: "x", int: 1, float: 0.5, bool: True, dict: {}}


def plausible(hint: Any) -> Any:
    """A value of the right type for ``hint`` (the first non-None member of a union)."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return plausible(next(h for h in typing.get_args(hint) if h is not type(None)))
    if typing.get_origin(hint) in (Sequence, Iterable, list, tuple):
        return []
    if hint in PLAUSIBLE:
        return PLAUSIBLE[hint]
    return {StubClient: StubClient(NOWHERE), Event: Event({}), Path: Path(".")}[hint]


def call_with(method: Callable[..., Any], parameter: str, value: object) -> None:
    """Call ``method`` with ``value`` for ``parameter`` and right values for the others."""
    hints = typing.get_type_hints(inspect.unwrap(method))
    arguments: dict[str, Any] = {}
    for name, spec in inspect.signature(method).parameters.items():
        if name == parameter:
            arguments[name] = value
        elif spec.default is inspect.Parameter.empty and spec.kind not in LOOSE:
            arguments[name] = plausible(hints[name])
    method(**arguments)


@pytest.mark.parametrize(("method", "parameter"), public_methods(StubView))
def test_every_view_method_names_a_wrongly_typed_parameter(method: str, parameter: str) -> None:
    with pytest.raises(TypeError, match=rf"StubView.{method}\(\): {parameter} must be "):
        call_with(getattr(view(), method), parameter, WrongType())


@pytest.mark.parametrize(("method", "parameter"), public_methods(StubClient))
def test_every_client_method_names_a_wrongly_typed_parameter(method: str, parameter: str) -> None:
    with pytest.raises(TypeError, match=rf"StubClient.{method}\(\): {parameter} must be "):
        call_with(getattr(StubClient(NOWHERE), method), parameter, WrongType())


def test_the_issues_examples_say_the_right_form() -> None:
    with pytest.raises(TypeError) as raised:
        view().query("count()")  # type: ignore[arg-type]
    assert str(raised.value) == (
        'StubView.query(): fields must be a list of strings such as ["count()"], '
        "got the string 'count()'"
    )
    with pytest.raises(TypeError, match=r"query must be a string in Sentry search syntax"):
        view().events(query=123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"count must be an integer such as 2, got the string"):
        view().wait_for(count="2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"allow must be a list of paths"):
        view().assert_no_pii(allow="user.ip_address")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"project must be a project slug or numeric id"):
        view().events(project=1.5)  # type: ignore[arg-type]


def test_out_of_range_values_are_value_errors() -> None:
    with pytest.raises(ValueError, match="timeout must be a number of seconds, 0 or more"):
        view().wait_for(timeout=-1)
    with pytest.raises(ValueError, match="count must be 1 or more"):
        view().wait_for(count=0)


def test_right_types_pass_the_check() -> None:
    # Reaching the (absent) server proves the check let the call through.
    with pytest.raises(ConnectionError):
        view().query(("count()",), "level:error", orderby="-count()", project=1)
