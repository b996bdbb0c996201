"""Argument checks for every public method of the API client and of the per-test view.

A wrong type that reached the server would come back as a wrong answer, not an error:
``query("count()")`` would ask Discover for the fields "c", "o", "u", ... So each public method
checks its arguments against its own type hints before it does anything, and a mismatch is a
``TypeError`` that names the method, the parameter and the form it takes.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T", bound=type)

# The right form of the parameters the public methods share, by name, with an example.
FORMS = {
    "query": 'a string in Sentry search syntax such as "event.type:error"',
    "text": 'a string such as "event.type:error | count() by transaction"',
    "fields": 'a list of strings such as ["count()"]',
    "orderby": 'a field or a list of fields such as "-count()"',
    "sort": 'a list of fields such as ["-count()"]',
    "project": 'a project slug or numeric id such as "backend" or 1',
    "allow": 'a list of paths such as ["user.ip_address"]',
    "include": 'a list of paths such as ["request", "user"]',
    "events": "a list of Event such as sentry_stub.events()",
    "environments": 'a list of strings such as ["production"]',
    "categories": 'a data category or a list of them such as ["transaction"]',
    "types": 'a list of item types such as ["attachment"]',
    "keys": "a list of DSN public keys",
    "kind": 'a row kind such as "spans" or "logs"',
    "count": "an integer such as 2",
    "timeout": "a number of seconds such as 5.0",
    "expected": "a rate between 0 and 1 such as 0.5",
    "confidence": "a probability such as 0.99",
    "scope": '"app" (what the app controls) or "all"',
}


def checked(cls: T) -> T:
    """Wrap every public method of ``cls`` (and ``__init__``) with its argument check."""
    for name, member in list(vars(cls).items()):
        if inspect.isfunction(member) and (not name.startswith("_") or name == "__init__"):
            setattr(cls, name, _checking(member, f"{cls.__name__}.{name}()"))
    return cls


def _checking(function: Callable[..., Any], where: str) -> Callable[..., Any]:
    signature = inspect.signature(function)
    loose = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    hints: dict[str, Any] = {}

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not hints:  # resolved on first use: the module's names all exist by then
            hints.update(typing.get_type_hints(function))
        bound = signature.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            hint = hints.get(name, Any)
            if signature.parameters[name].kind not in loose and not _fits(value, hint):
                form = FORMS.get(name) or _describe(hint)
                raise TypeError(f"{where}: {name} must be {form}, got {_shown(value)}")
        return function(*args, **kwargs)

    return wrapper


def _fits(value: Any, hint: Any) -> bool:
    origin, parts = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (types.UnionType, typing.Union):
        return any(_fits(value, part) for part in parts)
    if hint is None or hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is typing.Literal:
        return value in parts
    if origin in (Sequence, Iterable, list, tuple):
        return _fits_collection(value, origin, parts)
    if origin is dict:
        return isinstance(value, dict)
    return not isinstance(hint, type) or isinstance(value, hint)


def _fits_collection(value: Any, origin: Any, parts: tuple[Any, ...]) -> bool:
    """A list of things, where a single string (or mapping) is the classic slip."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, origin):
        return False
    if isinstance(value, list | tuple | set | frozenset) and parts:
        return all(_fits(element, parts[0]) for element in value)
    return True  # a generator stays unconsumed


def _describe(hint: Any) -> str:
    origin, parts = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(part) for part in parts)
    if origin in (Sequence, Iterable, list, tuple):
        return f"a list of {_describe(parts[0]).removeprefix('a ').removeprefix('an ')}s"
    names = {str: "a string", int: "an integer", float: "a number", bool: "True or False"}
    if hint is None or hint is type(None):
        return "None"
    if origin is dict or hint is dict:
        return "a dict"
    return names.get(hint) or f"a {getattr(hint, '__name__', hint)}"


def _shown(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    kind = "the string" if isinstance(value, str) else type(value).__name__
    return f"{kind} {text}"
