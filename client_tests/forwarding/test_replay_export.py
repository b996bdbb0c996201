"""Replay and export/import between real ``sentry-stub serve`` processes, and the plugin's export.

A receives real sentry-sdk traffic; ``sentry-stub replay`` sends it on to C, ``sentry-stub export``
and ``sentry-stub import`` carry it through a file to D. Searches and checks then answer the same
on all three. Every process listens on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import sentry_sdk

from client_tests.support import ServerProcess, sentry_client
from sentry_stub.client import StubClient

pytest_plugins = ["pytester"]

STUB = str(Path(sys.executable).parent / "sentry-stub")
SEARCHES = ("", "level:error", "event.type:transaction", "release:shop@1.2.0", "user.email:*")


def sentry_stub(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([STUB, *arguments], capture_output=True, text=True, timeout=120)


def send_traffic(dsn: str) -> None:
    """Errors with personal data, and transactions sampled at 0.5 (with their client reports)."""
    with sentry_client(
        dsn,
        release="shop@1.2.0",
        environment="production",
        traces_sample_rate=0.5,
    ):
        sentry_sdk.set_user({"email": "jane@example.com", "ip_address": "203.0.113.9"})
        sentry_sdk.set_extra("card", "4111-1111-1111-1111")
        for n in range(3):
            sentry_sdk.capture_message(f"checkout failed {n}", level="error")
        for n in range(20):
            with sentry_sdk.start_transaction(name=f"GET /item/{n % 4}"):
                pass
        sentry_sdk.get_client().transport._flush_client_reports(force=True)


def answers(client: StubClient) -> dict:
    """What searches and checks say about everything a stub has."""
    return {
        "searches": {
            query: [event["event_id"] for event in client.events(query)] for query in SEARCHES
        },
        "pii": client.check_pii(),
        "releases": client.check_releases(),
        "sampling": client.check_sampling(0.5),
    }


def test_replay_and_export_import_give_the_same_searches_and_checks(tmp_path: Path) -> None:
    with (
        ServerProcess(tmp_path / "a.sqlite3") as a,
        ServerProcess(tmp_path / "c.sqlite3") as c,
        ServerProcess(tmp_path / "d.sqlite3") as d,
    ):
        stub_a, stub_c, stub_d = StubClient(a.url), StubClient(c.url), StubClient(d.url)
        send_traffic(stub_a.projects()[0]["dsn"])
        count = len(stub_a.envelopes())
        replayed = sentry_stub("replay", "--url", a.url, "--to", stub_c.projects()[0]["dsn"])
        export = tmp_path / "a.jsonl"
        exported = sentry_stub("export", "--url", a.url, "--out", str(export))
        imported = sentry_stub("import", str(export), "--url", d.url)
        expected = answers(stub_a)
        via_replay, via_file = answers(stub_c), answers(stub_d)
        envelopes_a, envelopes_d = stub_a.envelopes(), stub_d.envelopes()
    assert replayed.returncode == 0, replayed.stderr
    assert f"replayed {count} envelope(s)" in replayed.stdout
    assert f"{count} accepted, 0 not accepted" in replayed.stdout
    assert f"replaying: {count} sent" in replayed.stderr  # the progress line
    assert exported.returncode == 0, exported.stderr
    assert imported.returncode == 0, imported.stderr
    assert f"imported {count} envelope(s)" in imported.stdout
    assert len(expected["searches"]["level:error"]) == 3
    assert expected["pii"]["passed"] is False  # the card number in extra leaks
    assert expected["sampling"]["trials"] == 20  # kept and discarded transactions both count
    assert via_replay == expected
    assert via_file == expected
    # The file carries the receive facts: D has A's times, endpoints and keys.
    facts = ("received_at", "endpoint", "public_key", "event_id", "project", "raw")
    assert [[e[f] for f in facts] for e in envelopes_d] == [
        [e[f] for f in facts] for e in envelopes_a
    ]
    header, *records = export.read_bytes().splitlines()
    assert orjson.loads(header)["format"] == "sentry-stub-export"
    assert len(records) == count


def test_replay_with_new_ids_and_a_query(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "a.sqlite3") as a, ServerProcess(tmp_path / "c.sqlite3") as c:
        stub_a, stub_c = StubClient(a.url), StubClient(c.url)
        with sentry_client(stub_a.projects()[0]["dsn"]):
            sentry_sdk.capture_message("first", level="warning")
            sentry_sdk.capture_message("second", level="error")
        result = sentry_stub(
            "replay",
            "level:error",
            "--new-ids",
            "--url",
            a.url,
            "--to",
            stub_c.projects()[0]["dsn"],
        )
        [original] = stub_a.events("level:error")
        [copy] = stub_c.events()
    assert result.returncode == 0, result.stderr
    assert "replayed 1 envelope(s)" in result.stdout
    assert copy["event_id"] != original["event_id"]
    assert copy["data"]["event_id"] == copy["event_id"]  # the payload's id replaced too
    assert copy["data"]["message"] == original["data"]["message"] == "second"


def test_replay_reports_what_the_target_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[[projects]]\nslug = "only"\nid = 3\nkeys = ["' + "c3" * 16 + '"]\n')
    with (
        ServerProcess(tmp_path / "a.sqlite3") as a,
        ServerProcess(tmp_path / "c.sqlite3", config=config) as c,
    ):
        with sentry_client(StubClient(a.url).projects()[0]["dsn"]):
            sentry_sdk.capture_message("nowhere to go")
        # C is strict and has no project 9: it answers 403, which no retry changes.
        wrong = f"http://{'c3' * 16}@127.0.0.1:{c.port}/9"
        result = sentry_stub("replay", "--url", a.url, "--to", wrong)
    assert result.returncode == 1
    assert "0 accepted, 1 not accepted" in result.stdout
    assert "upstream refused it: HTTP 403" in result.stdout


def test_import_refuses_a_damaged_file_naming_the_line(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text(
        '{"format": "sentry-stub-export", "version": 1, "exported_at": 0, "source": "x"}\n'
        '{"project": "default", "public_key": "k", "received_at": "yesterday", '
        '"endpoint": "envelope", "envelope": ""}\n'
    )
    with ServerProcess(tmp_path / "d.sqlite3") as d:
        result = sentry_stub("import", str(damaged), "--url", d.url)
        assert StubClient(d.url).envelopes() == []
    assert result.returncode == 2
    assert f"{damaged}:2: record 0: 'received_at' must be a number" in result.stderr


def test_a_failed_test_leaves_an_export_that_imports_cleanly(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
        import sentry_sdk

        def send(dsn, message):
            sentry_sdk.init(dsn=dsn, default_integrations=False)
            sentry_sdk.capture_message(message)
            sentry_sdk.flush()

        def test_checkout(sentry_stub):
            send(sentry_stub.dsn, "checkout failed in CI")
            sentry_stub.wait_for("message:checkout")
            assert False, "the test fails after the event arrived"

        def test_passes(sentry_stub):
            send(sentry_stub.dsn, "all good")
            sentry_stub.wait_for("message:good")
        """
    )
    artifacts = tmp_path / "artifacts"
    result = pytester.runpytest_subprocess(
        "-p", "no:randomly", "--sentry-stub-export-failed", str(artifacts)
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*sentry-stub export*", "*1 envelope(s) in *"])
    [export] = artifacts.iterdir()
    assert export.name.endswith("test_checkout.jsonl")
    with ServerProcess(tmp_path / "local.sqlite3") as local:
        imported = sentry_stub("import", str(export), "--url", local.url)
        events = StubClient(local.url).events()
    assert imported.returncode == 0, imported.stderr
    assert [event["data"]["message"] for event in events] == ["checkout failed in CI"]


def test_an_export_that_cannot_be_written_leaves_the_failure_as_it_was(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
        def test_fails(sentry_stub):
            assert 1 == 2
        """
    )
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    result = pytester.runpytest_subprocess("--sentry-stub-export-failed", str(taken))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 1 == 2*", "*no export written: *"])
