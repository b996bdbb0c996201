"""A corpus of envelopes as the real sentry-sdk writes them, captured once per run.

The SDK is pointed at an in-process stub; its envelopes are read back byte-exact from
``/stub/api/envelopes``. The mix is what a backend test suite sends: errors with stack traces
and breadcrumbs, transactions with spans, session updates and client reports (from sampling).
Each body is then kept in the three encodings the benchmark posts: identity, gzip and brotli.
"""

from __future__ import annotations

import base64
import gzip
import random
from dataclasses import dataclass

import brotli
import sentry_sdk

from sentry_stub import StubServer
from sentry_stub.client import StubClient

ENCODINGS = ("identity", "gzip", "br")


@dataclass(frozen=True)
class Corpus:
    """Captured envelope bodies (uncompressed) and their item types, in capture order."""

    bodies: list[bytes]
    kinds: list[tuple[str, ...]]

    def encoded(self, encoding: str) -> list[bytes]:
        return [encode(body, encoding) for body in self.bodies]

    def describe(self) -> dict:
        sizes = sorted(len(body) for body in self.bodies)
        counts: dict[str, int] = {}
        for kinds in self.kinds:
            for kind in kinds:
                counts[kind] = counts.get(kind, 0) + 1
        return {
            "envelopes": len(sizes),
            "bytes_min": sizes[0],
            "bytes_median": sizes[len(sizes) // 2],
            "bytes_max": sizes[-1],
            "bytes_mean": round(sum(sizes) / len(sizes)),
            "items": counts,
        }


def encode(body: bytes, encoding: str) -> bytes:
    """``body`` as the SDK would compress it (gzip level 9 as sentry-python does, brotli 4)."""
    if encoding == "gzip":
        return gzip.compress(body, compresslevel=9)
    if encoding == "br":
        return brotli.compress(body, quality=4)
    if encoding == "identity":
        return body
    raise ValueError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")


def capture(rounds: int = 40, seed: int = 7) -> Corpus:
    """Run the real SDK against an in-process stub and read its envelopes back."""
    rng = random.Random(seed)
    with StubServer() as stub:
        sentry_sdk.init(
            dsn=stub.dsn,
            release="shop@2.4.1",
            environment="production",
            traces_sampler=lambda context: 1.0 if rng.random() < 0.8 else 0.0,
            send_client_reports=True,
            max_breadcrumbs=100,
            default_integrations=False,
        )
        try:
            for n in range(rounds):
                _one_request(rng)
                if n % 4 == 3:  # sends the pending session updates and client reports
                    sentry_sdk.flush()
        finally:
            sentry_sdk.get_client().close()
            sentry_sdk.init(dsn=None)
        records = StubClient(stub.url).envelopes(after=0)
    bodies = [base64.b64decode(record["raw"]) for record in records]
    kinds = [tuple(item["type"] for item in record.get("items", [])) for record in records]
    return Corpus(bodies, kinds)


def _one_request(rng: random.Random) -> None:
    """One simulated request of a web shop: a session, a transaction, sometimes an error."""
    scope = sentry_sdk.get_isolation_scope()
    scope.start_session(session_mode="application")
    sentry_sdk.set_user({"id": str(rng.randrange(10_000)), "email": "shopper@example.com"})
    sentry_sdk.set_tag("customer.tier", rng.choice(["free", "pro", "enterprise"]))
    for n in range(rng.randrange(3, 30)):
        sentry_sdk.add_breadcrumb(
            category="query", message=f"SELECT * FROM orders WHERE id = {n}", level="info"
        )
    name = rng.choice(["/api/orders", "/api/cart", "/api/checkout", "/api/search"])
    with sentry_sdk.start_transaction(op="http.server", name=name):
        for n in range(rng.randrange(3, 50)):
            with sentry_sdk.start_span(op="db", name=f"SELECT id, total FROM orders /* {n} */"):
                pass
        if rng.random() < 0.6:
            try:
                _checkout(rng.randrange(2, 12), {"cart": list(range(rng.randrange(20)))})
            except ValueError as error:
                sentry_sdk.capture_exception(error)
    scope.end_session()


def _checkout(depth: int, payload: dict) -> None:
    """Fails ``depth`` frames down, so stack traces vary in length (and local variables)."""
    if depth:
        _checkout(depth - 1, payload)
    raise ValueError(f"payment declined for cart of {len(payload['cart'])} items")
