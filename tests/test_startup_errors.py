"""A database or config file the server cannot use stops ``sentry-stub serve`` in one line.

Each case runs the real console script: exit status 2, one line on stderr naming the path and the
cause, no traceback, and nothing on stdout (the banner is printed only once the database is
known to be usable).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from client_tests.support import free_port
from tests.tmpfs import mounted_tmpfs

SCRIPT = Path(sys.executable).parent / "sentry-stub"


def serve(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_STUB_")}
    return subprocess.run(
        [str(SCRIPT), "serve", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def assert_one_line(result: subprocess.CompletedProcess, expected: str) -> None:
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.splitlines() == [expected]


def corrupt_database(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x)")
    connection.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 2000)
    connection.execute("CREATE INDEX t_x ON t (x)")
    connection.commit()
    connection.close()
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 3 + 3000] = b"\x55" * 3000  # a table page overwritten
    path.write_bytes(bytes(data))


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "notes.sqlite3"
    db.write_text("these are my notes, not a database\n" * 10)
    expected = f"sentry-stub: database {db}: is not an SQLite database"
    assert_one_line(serve("--db", str(db)), expected)


def test_a_corrupt_database(tmp_path: Path) -> None:
    db = tmp_path / "corrupt.sqlite3"
    corrupt_database(db)
    result = serve("--db", str(db))
    assert (result.returncode, result.stdout, len(result.stderr.splitlines())) == (2, "", 1)
    assert result.stderr.startswith(f"sentry-stub: database {db}: is corrupt (")


def test_a_missing_folder(tmp_path: Path) -> None:
    db = tmp_path / "no" / "such" / "stub.sqlite3"
    assert_one_line(
        serve("--db", str(db)),
        f"sentry-stub: database {db}: folder {db.parent} does not exist",
    )


def test_a_folder_given_as_the_database(tmp_path: Path) -> None:
    assert_one_line(
        serve("--db", str(tmp_path)), f"sentry-stub: database {tmp_path}: is a folder, not a file"
    )


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder holding a database, remounted read-only (root bypasses file permissions)."""
    with mounted_tmpfs(tmp_path / "ro", "4m") as folder:
        connection = sqlite3.connect(folder / "stub.sqlite3")
        connection.execute("CREATE TABLE t (x)")
        connection.commit()
        connection.close()
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("stub.sqlite3", "file not writable: attempt to write a readonly database"),
        ("new.sqlite3", "folder not writable: unable to open database file"),
    ],
)
def test_a_read_only_database_or_folder(read_only_folder: Path, name: str, cause: str) -> None:
    db = read_only_folder / name
    assert_one_line(serve("--db", str(db)), f"sentry-stub: database {db}: is read-only ({cause})")


def test_a_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "stub.toml"
    config.write_bytes(b"[server]\nport = 9000\n# caf\xe9 in Latin-1\n")
    assert_one_line(
        serve("--config", str(config), "--db", str(tmp_path / "s.sqlite3")),
        f"sentry-stub: config error: config file {str(config)!r} is not UTF-8: "
        "byte 0xe9 at offset 26",
    )


def test_an_error_while_serving_is_not_mistaken_for_the_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only binding the port becomes "cannot listen on ..."; an OSError later (here EACCES from
    the running server) is not the address's fault and goes up as it is."""
    from sentry_stub import cli, server

    def fails_while_running(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "somewhere the server writes")

    monkeypatch.setattr(server, "serve", fails_while_running)
    with pytest.raises(PermissionError, match="somewhere the server writes"):
        cli.main(["serve", "--port", str(free_port()), "--db", str(tmp_path / "s.sqlite3")])
