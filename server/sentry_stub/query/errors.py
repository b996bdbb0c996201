"""The two ways a query can be wrong: bad syntax (with a column), or a bad field or sort."""

from __future__ import annotations


class InvalidQueryError(ValueError):
    """A Discover request that cannot be answered: an unknown function, an unselected sort key...

    The message is written for the person who typed the query; the HTTP layer shows it as is.
    """


class QuerySyntaxError(InvalidQueryError):
    """A search or pipe query that does not parse, pointing at the 1-based column of the fault."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (at column {column})")
        self.message = message
        self.column = column
