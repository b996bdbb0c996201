"""The fuzz campaign's Hypothesis profiles: a bounded one for CI, a long one to run by hand.

``ci`` (the default) keeps the whole folder to about a minute on two cores; ``long`` is the
campaign proper: ``HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/fuzz``. The
profiles are applied by the fuzz tests' own ``@FUZZ`` decorator (``tests/fuzz/mutations.py``),
never loaded globally, so the other Hypothesis tests keep their settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Fixtures and servers are slow to build next to a pure function; that is not a test failure.
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=_QUIET)
settings.register_profile(
    "long", max_examples=5_000, deadline=None, suppress_health_check=_QUIET, print_blob=True
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}: the fuzz tests know 'ci' and 'long'")
settings.register_profile("fuzz", settings.get_profile(PROFILE))
