"""Sentry's search syntax, parsed into a small tree of frozen dataclasses.

The grammar follows Sentry's ``event_search.py`` (spec section 1): a query is a flat run of terms
(filters, free text, parenthesised groups, ``AND``/``OR``), adjacent terms are ANDed, and AND binds
tighter than OR. Values stay text here: whether ``>5`` is a comparison or the literal string ">5"
depends on the key's type, which only the field catalogue knows, so the compiler types them.

Forms recognised, tried in this order at each term::

    AND | OR                      case-insensitive, followed by a space, ")" or the end
    ( terms )                     a group
    [!]has:KEY                    presence
    [!]func(args):[OP]VALUE       aggregate filter (becomes HAVING)
    [!]KEY:[OP]VALUE              OP is one of >= <= != > < =
    [!]KEY:[A, "B", ...]          list (IN / NOT IN)
    free text                     words up to the next filter/operator/group, or a "quoted" run
                                  (an unquoted ``|`` is refused: it is the pipe form's)

KEY is ``[a-zA-Z0-9_.-]+``, ``"a:quoted-key"``, ``tags[KEY]``/``tags[KEY,number]``, or the
``tags.KEY`` spelling the mission's guide uses. Quoted values unescape ``\\"`` only; a backslash
before ``*`` is kept so the compiler can tell a literal star from a wildcard.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sentry_stub.query.errors import QuerySyntaxError

COMPARISON_OPERATORS = (">=", "<=", "!=", ">", "<", "=")
# Never searched as text: a test author who writes a runbook's pipe form where a search belongs
# would otherwise get an empty answer that looks like a result.
PIPE_IN_SEARCH = (
    "A search takes no '|' stages: run the whole text as a pipe query (sentry_stub.pipe(...) "
    "in pytest, `sentry-stub query` in a shell, GET /stub/api/query?q=...), or put the '|' "
    "in double quotes to search for it"
)

_KEY = re.compile(r'tags\[[^\[\]]+\]|"[a-zA-Z0-9_.:-]+"|[a-zA-Z0-9_.\-]+')
_FUNCTION = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\([^()]*\)")
_BARE_VALUE = re.compile(r"[^\s()]*")
_BARE_LIST_ITEM = re.compile(r'[^\s,()\[\]"]*')
_SEPARATORS = " \t\r\n"
_SIMPLE_VALUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/*@:")


@dataclass(frozen=True)
class Filter:
    """``[!]key:[operator]value``; a tuple value is a ``[a, b]`` list."""

    key: str
    operator: str
    value: str | tuple[str, ...]
    negated: bool
    column: int
    value_column: int
    # Written in double quotes, so its characters are meant literally; syntax, not meaning.
    quoted: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class AggregateFilter:
    """``[!]function(args):[operator]value``; ``function`` is kept as written, e.g. ``count()``."""

    function: str
    operator: str
    value: str
    negated: bool
    column: int
    value_column: int


@dataclass(frozen=True)
class Has:
    """``[!]has:key``: the key has a non-empty value."""

    key: str
    negated: bool
    column: int


@dataclass(frozen=True)
class FreeText:
    """Words that are not a filter: Sentry searches the message for them."""

    text: str
    column: int


@dataclass(frozen=True)
class And:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Node, ...]
    column: int  # of the first OR, for errors about the disjunction as a whole


Node = Filter | AggregateFilter | Has | FreeText | And | Or


@dataclass(frozen=True)
class _Operator:
    name: str  # "AND" or "OR"
    column: int


def parse_query(text: str) -> Node | None:
    """Parse a search query; ``None`` for a blank one. Raises ``QuerySyntaxError``."""
    terms = _Parser(text).terms(opening=None)
    return _combine(terms) if terms else None


def leaves(node: Node | None) -> Iterator[Filter | AggregateFilter | Has | FreeText]:
    """Every filter and free-text term of a tree, left to right."""
    if node is None:
        return
    if isinstance(node, And | Or):
        for term in node.terms:
            yield from leaves(term)
    else:
        yield node


def render(node: Node) -> str:
    """Search syntax for ``node`` that parses back to the same tree."""
    if isinstance(node, And):
        return " ".join(_grouped(term) for term in node.terms)
    if isinstance(node, Or):
        return " OR ".join(_grouped(term) for term in node.terms)
    if isinstance(node, Has):
        return f"{'!' if node.negated else ''}has:{node.key}"
    if isinstance(node, FreeText):
        return _render_value(node.text)
    if isinstance(node, AggregateFilter):
        operator = "" if node.operator == "=" else node.operator
        return f"{'!' if node.negated else ''}{node.function}:{operator}{_render_value(node.value)}"
    operator = "" if node.operator == "=" else node.operator
    if isinstance(node.value, tuple):
        value = "[" + ", ".join(_render_value(v) for v in node.value) + "]"
    else:
        value = _render_value(node.value)
    return f"{'!' if node.negated else ''}{node.key}:{operator}{value}"


def _grouped(node: Node) -> str:
    return f"({render(node)})" if isinstance(node, And | Or) else render(node)


def _render_value(value: str) -> str:
    """``value`` as written in a search: quoted where needed, with ``\\"`` for a quote, the one
    escape the parser undoes (other characters, ``\\*`` and non-ASCII included, stand as is)."""
    if value and all(character in _SIMPLE_VALUE for character in value):
        return value
    return '"' + value.replace('"', '\\"') + '"'


def _combine(terms: list[Node | _Operator]) -> Node:
    """Sentry's precedence: drop the ANDs, split at the first OR, recurse on both sides."""
    for index, term in enumerate(terms):
        if not isinstance(term, _Operator):
            continue
        if index == 0:
            raise QuerySyntaxError(f"A query cannot start with {term.name}", term.column)
        if index == len(terms) - 1:
            raise QuerySyntaxError(f"A query cannot end with {term.name}", term.column)
        following = terms[index + 1]
        if isinstance(following, _Operator):
            raise QuerySyntaxError(
                f"{following.name} cannot follow {term.name} directly", following.column
            )
    return _build([term for term in terms if not _is_operator(term, "AND")])


def _build(terms: list[Node | _Operator]) -> Node:
    for index, term in enumerate(terms):
        if isinstance(term, _Operator):
            left, right = _build(terms[:index]), _build(terms[index + 1 :])
            right_terms = right.terms if isinstance(right, Or) else (right,)
            return Or((left, *right_terms), term.column)
    nodes = tuple(term for term in terms if not isinstance(term, _Operator))
    return nodes[0] if len(nodes) == 1 else And(nodes)


def _is_operator(term: Node | _Operator, name: str) -> bool:
    return isinstance(term, _Operator) and term.name == name


def _unquote_key(key: str) -> str:
    return key[1:-1] if key.startswith('"') else key


class _Parser:
    """A hand-written recursive-descent reader; positions are 0-based, errors 1-based."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, position: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, position + 1)

    def skip_spaces(self, position: int) -> int:
        while position < len(self.text) and self.text[position] in _SEPARATORS:
            position += 1
        return position

    def terms(self, opening: int | None) -> list[Node | _Operator]:
        """Terms up to the end of input, or up to the ``)`` matching ``opening``."""
        terms: list[Node | _Operator] = []
        while True:
            self.pos = self.skip_spaces(self.pos)
            if self.pos == len(self.text):
                if opening is not None:
                    raise self.fail("This parenthesis is never closed", opening)
                return terms
            char = self.text[self.pos]
            if char == ")":
                if opening is None:
                    raise self.fail("Unmatched closing parenthesis", self.pos)
                self.pos += 1
                return terms
            if operator := self.boolean_operator(self.pos):
                terms.append(operator)
                self.pos += len(operator.name)
            elif char == "(":
                terms.append(self.group())
            elif found := self.filter(self.pos):
                terms.append(found[0])
                self.pos = found[1]
            else:
                terms.append(self.free_text())

    def boolean_operator(self, position: int) -> _Operator | None:
        for name in ("AND", "OR"):
            end = position + len(name)
            word = self.text[position:end]
            if word.upper() == name and (end == len(self.text) or self.text[end] in " \t\r\n)"):
                return _Operator(name, position + 1)
        return None

    def group(self) -> Node:
        opening = self.pos
        self.pos += 1
        inner = self.terms(opening=opening)
        if not inner:
            raise self.fail("Empty parentheses", opening)
        return _combine(inner)

    def filter(self, start: int) -> tuple[Node, int] | None:
        """The filter starting at ``start`` and where it ends, or ``None`` if none starts here."""
        negated = self.text.startswith("!", start)
        position = start + negated
        if self.text.startswith("has:", position):
            key = _KEY.match(self.text, position + 4)
            if key is None:
                raise self.fail("Expected a key after 'has:'", position + 4)
            return Has(_unquote_key(key.group()), negated, start + 1), key.end()
        function = _FUNCTION.match(self.text, position)
        if function and self.text.startswith(":", function.end()):
            operator, value, value_start, end = self.value(function.end() + 1, allow_list=False)
            assert isinstance(value, str)
            node: Node = AggregateFilter(
                function.group(), operator, value, negated, start + 1, value_start
            )
            return node, end
        key = _KEY.match(self.text, position)
        if key is None or not self.text.startswith(":", key.end()):
            return None
        operator, value, value_start, end = self.value(key.end() + 1, allow_list=True)
        quoted = self.text.startswith('"', value_start - 1)
        node = Filter(
            _unquote_key(key.group()), operator, value, negated, start + 1, value_start, quoted
        )
        return node, end

    def value(
        self, position: int, *, allow_list: bool
    ) -> tuple[str, str | tuple[str, ...], int, int]:
        """``[OP]value`` after a colon: (operator, value, 1-based value column, end position)."""
        if allow_list and self.text.startswith("[", position):
            items, end = self.list_value(position)
            return "=", items, position + 1, self.expect_value_end(end)
        operator = next(
            (op for op in COMPARISON_OPERATORS if self.text.startswith(op, position)), ""
        )
        position += len(operator)
        if self.text.startswith('"', position):
            text, end = self.quoted(position)
            return operator or "=", text, position + 1, self.expect_value_end(end)
        bare = _BARE_VALUE.match(self.text, position)
        assert bare is not None  # the pattern accepts the empty string
        text = bare.group()
        if not text:
            raise self.fail('Empty value; write key:"" to match an empty value', position)
        if '"' in text:
            raise self.fail("Quotes must surround the whole value", position + text.index('"'))
        return operator or "=", text, position + 1, bare.end()

    def list_value(self, opening: int) -> tuple[tuple[str, ...], int]:
        items: list[str] = []
        position = opening + 1
        while True:
            position = self.skip_spaces(position)
            if self.text.startswith('"', position):
                item, position = self.quoted(position)
            else:
                bare = _BARE_LIST_ITEM.match(self.text, position)
                assert bare is not None
                item, position = bare.group(), bare.end()
                if not item:
                    raise self.fail("Lists should not have empty values", position)
            items.append(item)
            position = self.skip_spaces(position)
            if position == len(self.text):
                raise self.fail("This list is never closed", opening)
            if self.text[position] == "]":
                return tuple(items), position + 1
            if self.text[position] != ",":
                raise self.fail("Expected ',' or ']' in the list", position)
            position += 1

    def quoted(self, opening: int) -> tuple[str, int]:
        """A ``"..."`` run from ``opening``: its text (``\\"`` unescaped) and the end position."""
        chars: list[str] = []
        position = opening + 1
        while position < len(self.text):
            char = self.text[position]
            if char == '"':
                return "".join(chars), position + 1
            if char == "\\" and self.text.startswith('"', position + 1):
                chars.append('"')
                position += 2
                continue
            chars.append(char)
            position += 1
        raise self.fail("This quote is never closed", opening)

    def expect_value_end(self, position: int) -> int:
        if position < len(self.text) and self.text[position] not in " \t\r\n)":
            raise self.fail("Expected a space or ')' after the value", position)
        return position

    def free_text(self) -> FreeText:
        """Free text: one quoted run, or words up to where a filter, operator or group starts."""
        start = self.pos
        if self.text.startswith('"', start):
            text, end = self.quoted(start)
            self.pos = self.expect_value_end(end)
            return FreeText(text, start + 1)
        position = end = start
        while True:
            end = position = self.word_end(position)
            following = self.skip_spaces(position)
            if (
                following == len(self.text)
                or self.text[following] in '()"'
                or self.boolean_operator(following)
                or self.filter(following)
            ):
                break
            position = following
        self.pos = end
        text = self.text[start:end]
        if "||" in text:
            raise self.fail("'||' is not Sentry syntax: write OR", start + text.index("||"))
        if "|" in text:
            raise self.fail(PIPE_IN_SEARCH, start + text.index("|"))
        return FreeText(text, start + 1)

    def word_end(self, position: int) -> int:
        """Where the word at ``position`` ends; balanced parentheses stay inside the word."""
        depth, opening = 0, position
        while position < len(self.text):
            char = self.text[position]
            if char == "(":
                if depth == 0:
                    opening = position
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char in _SEPARATORS and depth == 0:
                break
            position += 1
        if depth:
            raise self.fail("This parenthesis is never closed", opening)
        return position
