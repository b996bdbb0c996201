"""Forwarding between real ``sentry-stub serve`` processes: A forwards, B is the upstream.

Real sentry-sdk traffic goes to A; the tests read what B stored through B's API and what A
recorded of each forward through A's. Every process listens on 127.0.0.1.
"""

from __future__ import annotations

import base64
import collections
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import sentry_sdk

from client_tests.support import ServerProcess, free_port, sentry_client
from sentry_stub.client import StubClient
from sentry_stub.settings.values import generated_key

STUB = str(Path(sys.executable).parent / "sentry-stub")
# The open-mode default project's key on every stub: an upstream's DSN is known before it runs.
DEFAULT_KEY = generated_key("sentry-stub:1")
APP_KEY = "a1" * 16


def default_dsn(port: int) -> str:
    return f"http://{DEFAULT_KEY}@127.0.0.1:{port}/1"


def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """``check()`` once it is truthy; an AssertionError quoting the last value at ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"not within {timeout}s: {what} (last: {value!r})"
            return value
        time.sleep(0.1)


def all_sent(client: StubClient, count: int) -> Callable[[], dict | None]:
    def check() -> dict | None:
        result = client.forwards(limit=1000)
        return result if result["counts"]["sent"] == count else None

    return check


def raw(envelope: dict) -> bytes:
    return base64.b64decode(envelope["raw"])


def split(envelope: dict) -> tuple[dict, bytes]:
    """An envelope's header (parsed) and the bytes after the header line."""
    header, _, rest = raw(envelope).partition(b"\n")
    return orjson.loads(header), rest


def send_traffic(dsn: str) -> None:
    """An error, an exception with a user, and a transaction, from the real SDK."""
    with sentry_client(dsn, release="shop@1.2.0", environment="production", traces_sample_rate=1):
        sentry_sdk.set_user({"email": "jane@example.com"})
        sentry_sdk.capture_message("checkout failed", level="error")
        try:
            {}["basket"]
        except KeyError:
            sentry_sdk.capture_exception()
        with (
            sentry_sdk.start_transaction(name="GET /checkout", op="http.server"),
            sentry_sdk.start_span(op="db", name="SELECT basket"),
        ):
            pass


def test_sdk_traffic_arrives_upstream_with_the_same_event_ids_and_bytes(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "b.sqlite3") as b:
        arguments = ("--forward-to", default_dsn(b.port))
        with ServerProcess(tmp_path / "a.sqlite3", arguments=arguments) as a:
            stub_a, stub_b = StubClient(a.url), StubClient(b.url)
            send_traffic(default_dsn(a.port))
            # A browser SDK's tunnel: the envelope header names the DSN (A's), rewritten for B.
            event_id = "c0ffee" + "0" * 26
            body = (
                f'{{"event_id":"{event_id}","dsn":"{default_dsn(a.port)}"}}\n'
                '{"type":"event"}\n{"message":"tunneled"}\n'
            )
            assert httpx.post(f"{a.url}/tunnel", content=body).status_code == 200
            result = eventually(all_sent(stub_a, 4), what="A forwarded all four envelopes")
            sent_by_a, got_by_b = stub_a.envelopes(), stub_b.envelopes()
            events_a, events_b = stub_a.events(), stub_b.events()
            listing = subprocess.run(
                [STUB, "forwards", "--url", a.url], capture_output=True, text=True, check=True
            ).stdout
    assert [(f["state"], f["status"], f["attempts"]) for f in result["data"]] == [
        ("sent", 200, 1)
    ] * 4
    assert result["counts"] == {"pending": 0, "sent": 4, "dropped": 0}
    assert listing.splitlines()[-1] == "0 pending, 4 sent, 0 dropped"
    assert f"{event_id}  sent   200     1" in listing
    assert len(events_a) == 4
    assert [e["event_id"] for e in events_b] == [e["event_id"] for e in events_a]
    assert event_id in [e["event_id"] for e in events_b]
    assert [e["event_id"] for e in got_by_b] == [e["event_id"] for e in sent_by_a]
    for original, forwarded in zip(sent_by_a, got_by_b, strict=True):
        header_a, items_a = split(original)
        header_b, items_b = split(forwarded)
        assert items_b == items_a  # every item byte-identical
        if "dsn" in header_a:
            assert header_b == {**header_a, "dsn": default_dsn(b.port)}
        else:
            assert raw(forwarded) == raw(original)
        assert forwarded["public_key"] == DEFAULT_KEY  # authenticated with B's key
        assert forwarded["client"].startswith("sentry-stub-forward/")
        assert original["forward"]["state"] == "sent"
        assert forwarded["forward"] is None  # B itself forwards nothing


def test_upstream_rate_limit_delays_delivery_as_retry_after_says(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "b.sqlite3") as b:
        stub_b = StubClient(b.url)
        # B answers the next request 429 with Retry-After: 2, as Relay does when rate limited.
        stub_b.add_fault({"kind": "rate_limit", "retry_after": 2, "count": 1})
        arguments = ("--forward-to", default_dsn(b.port))
        with ServerProcess(tmp_path / "a.sqlite3", arguments=arguments) as a:
            stub_a = StubClient(a.url)
            with sentry_client(default_dsn(a.port)):
                event_id = sentry_sdk.capture_message("rate limited upstream")
            pending = eventually(
                lambda: stub_a.forwards(state="pending")["data"], what="a pending forward"
            )
            [forward] = eventually(lambda: all_sent(stub_a, 1)(), what="the forward sent")["data"]
            [original] = stub_a.envelopes()
            [delivered] = stub_b.envelopes()
            [fault] = stub_b.faults()
    assert pending[0]["envelope_id"] == original["id"]
    assert (forward["state"], forward["status"], forward["attempts"]) == ("sent", 200, 2)
    assert fault["hits"] == 1  # the first attempt got the 429
    assert delivered["event_id"] == original["event_id"] == event_id
    # The second attempt waited for Retry-After (2 s) after the first, made at once.
    assert delivered["received_at"] - original["received_at"] >= 1.9


def test_upstream_down_then_up_every_envelope_arrives_exactly_once(tmp_path: Path) -> None:
    upstream_port = free_port()
    config = tmp_path / "a.toml"
    config.write_text(
        f'[[projects]]\nslug = "app"\nid = 5\nkeys = ["{APP_KEY}"]\n'
        f'forward_to = "{default_dsn(upstream_port)}"\n'
    )
    a = ServerProcess(tmp_path / "a.sqlite3", config=config)
    with a:
        stub_a = StubClient(a.url)
        with sentry_client(f"http://{APP_KEY}@127.0.0.1:{a.port}/5"):
            sent = [sentry_sdk.capture_message(f"while B is down {n}") for n in range(5)]
        failing = eventually(
            lambda: [f for f in stub_a.forwards()["data"] if f["attempts"] >= 1],
            what="an attempt that failed",
        )
        assert stub_a.forwards()["counts"] == {"pending": 5, "sent": 0, "dropped": 0}
    assert "Connection" in failing[0]["reason"]  # refused: nothing listens there
    # A again, on the same database: the queue survived the restart.
    with ServerProcess(tmp_path / "b.sqlite3", port=upstream_port) as b, a:
        stub_a = StubClient(a.url)
        result = eventually(all_sent(stub_a, 5), what="the five forwards sent after restart")
        time.sleep(0.5)  # a duplicate send would arrive now
        received = StubClient(b.url).events()
    assert result["counts"] == {"pending": 0, "sent": 5, "dropped": 0}
    assert [event["event_id"] for event in received] == sent  # once each, in receive order
    assert collections.Counter(e["event_id"] for e in received).most_common(1)[0][1] == 1


def test_items_a_fault_rule_dropped_are_not_forwarded(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "b.sqlite3") as b:
        arguments = ("--forward-to", default_dsn(b.port))
        with ServerProcess(tmp_path / "a.sqlite3", arguments=arguments) as a:
            stub_a, stub_b = StubClient(a.url), StubClient(b.url)
            # A limits transactions: of an envelope with a transaction and a client report
            # (never limited), it stores the report alone.
            stub_a.add_fault({"kind": "rate_limit", "categories": ["transaction"]})
            report = b'{"timestamp":1767225600,"discarded_events":[]}'
            body = (
                b'{"event_id":"' + b"ab" * 16 + b'"}\n'
                b'{"type":"transaction"}\n{"type":"transaction","transaction":"limited"}\n'
                b'{"type":"client_report"}\n' + report + b"\n"
            )
            answer = httpx.post(
                f"{a.url}/api/1/envelope/",
                content=body,
                headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={DEFAULT_KEY}"},
            )
            assert answer.status_code == 429  # for the transaction; the report is stored
            eventually(all_sent(stub_a, 1), what="the envelope forwarded")
            [at_a] = stub_a.envelopes()
            [at_b] = stub_b.envelopes()
    assert raw(at_a) == body  # A keeps what it received, the limited item included
    assert [item["type"] for item in at_a["items"]] == ["client_report"]
    assert [item["type"] for item in at_b["items"]] == ["client_report"]
    assert (
        raw(at_b)
        == b'{"event_id":"' + b"ab" * 16 + b'"}\n{"type":"client_report"}\n' + report + b"\n"
    )
