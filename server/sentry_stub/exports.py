"""Export files on the client's side: written from one stub's API, read back into another's.

The format is described in ``export_format.py``. Writing pages through ``/stub/api/export``;
reading checks every line before anything is sent, then imports in batches small enough for
the server's API body limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from .client import StubClient
from .export_format import InvalidRecord, check_header, header, parse_record

BATCH_BYTES = 8 * 1024 * 1024  # per import request, well inside the 20 MiB API body limit


class ExportFileError(ValueError):
    """An export file that cannot be read: names the file and the line."""


def export_pages(
    client: StubClient, query: str = "", *, project: str | None = None, after: int = 0
) -> Iterator[dict]:
    """Every export record the query selects, in receive order."""
    since = 0
    while True:
        page = client.export_page(query, after=after, project=project, since=since)
        yield from page["data"]
        if page["next"] is None:
            return
        since = page["next"]


def write_export(
    client: StubClient,
    path: Path,
    query: str = "",
    *,
    project: str | None = None,
    after: int = 0,
) -> int:
    """Write what ``query`` selects to ``path``; how many envelopes."""
    count = 0
    with path.open("wb") as file:
        file.write(orjson.dumps(header(client.url, time.time())) + b"\n")
        for record in export_pages(client, query, project=project, after=after):
            file.write(orjson.dumps(record) + b"\n")
            count += 1
    return count


def read_export(path: Path) -> list[dict]:
    """The envelope records of an export file, each checked; ExportFileError names the line."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as error:
        raise ExportFileError(f"{path}: cannot be read: {error.strerror}") from None
    records: list[dict] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
            if number == 1:
                check_header(value)
            else:
                parse_record(value, len(records))
                records.append(value)
        except orjson.JSONDecodeError as error:
            raise ExportFileError(f"{path}:{number}: not JSON: {error}") from None
        except (InvalidRecord, ValueError) as error:
            raise ExportFileError(f"{path}:{number}: {error}") from None
    if not lines:
        raise ExportFileError(f"{path}: empty (an export starts with its header line)")
    return records


def import_export(
    client: StubClient, path: Path, progress: Callable[[int, int], None] = lambda n, total: None
) -> int:
    """Import the file at ``path`` into ``client``'s server; how many envelopes."""
    records = read_export(path)
    done = 0
    for batch in _batches(records):
        done += client.import_records(batch)
        progress(done, len(records))
    return done


def _batches(records: list[dict]) -> Iterator[list[dict]]:
    batch: list[dict] = []
    size = 0
    for record in records:
        length = len(record["envelope"]) + 512
        if batch and size + length > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += length
    if batch:
        yield batch
