"""What can be wrong with a query: bad syntax (with a column), a bad field or sort, and the
warnings an answer carries where a query probably did not mean what Sentry makes of it."""

from __future__ import annotations


class InvalidQueryError(ValueError):
    """A Discover request that cannot be answered: an unknown function, an unselected sort key...

    The message is written for the person who typed the query; the HTTP layer shows it as is.
    """


class QuerySyntaxError(InvalidQueryError):
    """A search or pipe query that does not parse, pointing at the 1-based column of the fault.

    With ``query`` (as the client raises it) the message also shows the query with a caret
    under that column.
    """

    def __init__(self, message: str, column: int, query: str | None = None) -> None:
        located = f"{message} (at column {column})"
        if query is not None:
            located += f"\n  {query}\n  {' ' * (column - 1)}^"
        super().__init__(located)
        self.message = message
        self.column = column
        self.query = query

    @classmethod
    def from_detail(cls, detail: str, column: int, query: str) -> QuerySyntaxError:
        """The error again from the server's ``detail`` (``str`` of one raised there)."""
        return cls(detail.removesuffix(f" (at column {column})"), column, query)


class SentryStubQueryWarning(UserWarning):
    """A search Sentry answers in a way its author probably did not mean (``key:*``, a field
    name mistaken for a tag, SQL-like syntax); the pytest plugin issues one per warning."""
