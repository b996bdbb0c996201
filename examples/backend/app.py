"""A tiny FastAPI backend set up for Sentry as the AgentsFlowAI guide describes.

Everything comes from the environment, so the same code reports to sentry.io in production and
to sentry-stub in tests and CI: only ``SENTRY_DSN`` changes.
"""

from __future__ import annotations

import os

import sentry_sdk
from fastapi import FastAPI


def _rate(name: str, default: str) -> float:
    return float(os.environ.get(name, default))


sentry_sdk.init(
    dsn=os.environ.get("SENTRY_DSN"),  # unset: the SDK stays off
    environment=os.environ.get("SENTRY_ENVIRONMENT", "development"),
    release=os.environ.get("SENTRY_RELEASE"),
    traces_sample_rate=_rate("SENTRY_TRACES_SAMPLE_RATE", "0.1"),
    profiles_sample_rate=_rate("SENTRY_PROFILES_SAMPLE_RATE", "0.0"),
)

app = FastAPI(title="example-backend")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/divide")
def divide(numerator: float, denominator: float) -> dict[str, float]:
    """Fails with ZeroDivisionError for ``denominator=0``: an error for Sentry to capture."""
    return {"result": numerator / denominator}
