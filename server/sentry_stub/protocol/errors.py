"""The one error type every ingest step raises; the app turns it into Relay's JSON error body."""

from __future__ import annotations


class IngestError(Exception):
    """A refusal: HTTP ``status`` with Relay's ``{"detail": ..., "causes": [...]}`` body."""

    def __init__(
        self,
        status: int,
        detail: str,
        causes: list[str] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ):
        self.status = status
        self.detail = detail
        self.causes = causes or []
        self.headers = headers or {}
        super().__init__(f"{status} {detail}" + (f": {'; '.join(self.causes)}" if causes else ""))

    def body(self) -> dict:
        body: dict = {"detail": self.detail}
        if self.causes:
            body["causes"] = self.causes
        return body
