"""The checks against what the real sentry-sdk sends from a FastAPI app.

A signup endpoint receives credentials nested in its JSON body. sentry-python's own scrubber
only looks at top-level keys of the request body, so the nested password reaches Sentry unless
the app scrubs it in ``before_send``; the leaking app must fail ``assert_no_pii`` and its fixed
twin must pass. The sampling checks run many transactions and errors through the SDK's own
sampling and compare with the configured rates.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from client_tests.support import sentry_client
from sentry_stub.view import StubView

SIGNUP = {"account": {"email": "ada@example.com", "password": "hunter2-correct-horse"}}
# A true rate falls outside a 99% interval in 1% of runs; the passing assertions use a wider
# interval so that the suite does not flake, while the wrong rates stay far outside it.
STEADY = 0.9999


@contextlib.contextmanager
def sdk(dsn: str, **options: Any) -> Iterator[None]:
    """sentry-sdk with its default integrations (FastAPI among them), flushed at the end."""
    with sentry_client(
        dsn,
        release="agentsflowai-backend@1.0.0",
        environment="staging",
        transport_queue_size=10000,  # a full queue would drop events the checks count
        **options,
    ):
        yield


def signup_app() -> FastAPI:
    app = FastAPI()

    @app.post("/api/signup")
    async def signup(request: Request) -> dict:
        body = await request.json()
        raise RuntimeError(f"could not create account for {body['account']['email']}")

    @app.get("/api/health")
    async def health() -> dict:
        return {"ok": True}

    @app.get("/api/report")
    def report() -> dict:
        raise ZeroDivisionError("no orders yet")  # no personal data anywhere

    return app


def scrub_credentials(event: dict, hint: dict) -> dict:
    """The app's fix: mask passwords anywhere in the request body, drop local variables.

    Locals hold the parsed body too, and the reprs of framework objects that Relay's password
    rule would filter (any value mentioning ``auth``).
    """

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: "[Filtered]" if "password" in k.lower() else scrub(v) for k, v in value.items()
            }
        return value

    request = event.get("request")
    if isinstance(request, dict) and "data" in request:
        request["data"] = scrub(request["data"])
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    return event


def post_signup(dsn: str, *, headers: dict | None = None, **options: Any) -> None:
    with sdk(dsn, **options), TestClient(signup_app(), raise_server_exceptions=False) as client:
        assert client.post("/api/signup", json=SIGNUP, headers=headers).status_code == 500


def test_leaking_app_fails_assert_no_pii(sentry_stub: StubView) -> None:
    post_signup(sentry_stub.dsn)
    [event] = sentry_stub.wait_for("event.type:error")
    assert event["request"]["data"]["account"]["password"] == SIGNUP["account"]["password"]

    with pytest.raises(AssertionError) as failure:
        sentry_stub.assert_no_pii()
    message = str(failure.value)
    assert event.event_id in message
    assert "request.data.account.password" in message
    assert ".vars.body.account.password" in message  # the handler's local variable leaks too
    assert "@password:filter" in message
    assert "hunter2-correct-horse" not in message  # the report never repeats the secret
    assert "hu************e" in message


def test_app_scrubbing_in_before_send_passes_assert_no_pii(sentry_stub: StubView) -> None:
    post_signup(sentry_stub.dsn, before_send=scrub_credentials)
    [event] = sentry_stub.wait_for("event.type:error")
    assert event["request"]["data"]["account"]["password"] == "[Filtered]"

    report = sentry_stub.assert_no_pii([event])
    assert report["checked"] == 1


def test_a_plain_fastapi_error_passes_assert_no_pii_out_of_the_box(sentry_stub: StubView) -> None:
    """FastAPI's own frames hold reprs Relay's password rule filters (``own_oauth_scopes``
    has ``auth`` in it): the default app scope leaves library frames' variables out."""
    with sdk(sentry_stub.dsn), TestClient(signup_app(), raise_server_exceptions=False) as client:
        assert client.get("/api/report").status_code == 500
    [event] = sentry_stub.wait_for("event.type:error")

    report = sentry_stub.assert_no_pii()
    assert report["checked"] == 1
    skipped = [finding["path"] for finding in report["skipped"]]
    assert any(path.endswith(".vars.dependant") for path in skipped), skipped

    with pytest.raises(AssertionError) as failure:
        sentry_stub.assert_no_pii(scope="all")
    message = str(failure.value)
    assert "trigger: the value contains 'auth' (in 'own_oauth_scopes')" in message
    assert '"exception.values.*.stacktrace.frames.*.vars.dependant"' in message
    assert event.event_id in message


def test_send_default_pii_reports_the_client_ip_unless_allowed(sentry_stub: StubView) -> None:
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    post_signup(sentry_stub.dsn, headers=proxied, before_send=scrub_credentials)
    post_signup(
        sentry_stub.dsn, headers=proxied, before_send=scrub_credentials, send_default_pii=True
    )
    events = sentry_stub.wait_for("event.type:error", count=2)
    with_pii = [e for e in events if e["request"].get("env")]
    assert len(with_pii) == 1  # only the second app sent the client's address

    with pytest.raises(AssertionError) as failure:
        sentry_stub.assert_no_pii()
    message = str(failure.value)
    assert "2 leaks in 1 event (2 events checked)" in message  # both in one
    assert (
        f"{with_pii[0].event_id} (default): request.env.REMOTE_ADDR [send_default_pii]" in message
    )
    assert "request.headers.X-Forwarded-For [send_default_pii] '20********9'" in message

    report = sentry_stub.assert_no_pii(allow=["request.env.*", "request.headers"])
    assert len(report["allowed"]) == 2


def test_traces_sample_rate_is_verified(sentry_stub: StubView) -> None:
    with sdk(sentry_stub.dsn, traces_sample_rate=0.1), TestClient(signup_app()) as client:
        for _ in range(2000):
            client.get("/api/health")
    wait_for_discards(sentry_stub, "transaction")

    report = sentry_stub.assert_sample_rate(0.1, confidence=STEADY)
    assert report["trials"] == 2000
    assert report["declared"] == {"0.1": report["kept"]}
    with pytest.raises(AssertionError, match="outside the 99% interval"):
        sentry_stub.assert_sample_rate(0.5)


def test_profiles_sample_rate_is_verified_over_sampled_transactions(
    sentry_stub: StubView,
) -> None:
    with sdk(sentry_stub.dsn, traces_sample_rate=1.0, profiles_sample_rate=0.5):
        for index in range(400):
            with sentry_sdk.start_transaction(name="profiled-work", op="task"):
                if index % 40 == 0:
                    time.sleep(0.06)  # long enough for the profiler to keep a real profile
    wait_for_discards(sentry_stub, "profile")

    report = sentry_stub.assert_sample_rate(0.5, category="profile", confidence=STEADY)
    assert report["kept"] > 0  # the slow transactions carried real profiles
    assert report["trials"] == 400  # every sampled transaction had one profiling decision
    assert len(sentry_stub.events("event.type:transaction")) == 400
    with pytest.raises(AssertionError, match="outside"):
        sentry_stub.assert_sample_rate(0.1, category="profile")


def test_error_sample_rate_is_verified(sentry_stub: StubView) -> None:
    with sdk(sentry_stub.dsn, sample_rate=0.25):
        for index in range(800):
            sentry_sdk.capture_message(f"sampled message {index}")
    wait_for_discards(sentry_stub, "error")

    report = sentry_stub.assert_sample_rate(0.25, category="error", confidence=STEADY)
    assert report["trials"] == 800
    with pytest.raises(AssertionError, match="outside"):
        sentry_stub.assert_sample_rate(0.75, category="error")


def test_releases_and_environments_follow_the_naming(sentry_stub: StubView) -> None:
    post_signup(sentry_stub.dsn, before_send=scrub_credentials)
    sentry_stub.wait_for("event.type:error")
    report = sentry_stub.assert_releases()
    assert report["releases"] == {"agentsflowai-backend@1.0.0": 1}

    with pytest.raises(AssertionError, match="not one of the allowed environments"):
        sentry_stub.assert_releases(environments=["production"])


def wait_for_discards(view: StubView, category: str, timeout: float = 10.0) -> None:
    """Client reports travel in their own envelope at flush; wait until one has arrived."""
    deadline = time.monotonic() + timeout
    while not any(d["category"] == category for d in view.discards()):
        assert time.monotonic() < deadline, f"no client report counted a {category} discard"
        time.sleep(0.05)
