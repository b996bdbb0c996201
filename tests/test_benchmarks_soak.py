"""The soak benchmark runs end to end in its smoke size: real SDK clients, nothing lost.

No rate is asserted (it depends on the machine). What must hold: every field is reported,
every acknowledged event is stored under its client's key, and the clients really sent.
"""

from __future__ import annotations

import pytest

from benchmarks import soak

pytestmark = pytest.mark.timeout(300)

FIELDS = {
    "clients",
    "processes",
    "sent",
    "acknowledged",
    "stored",
    "lost",
    "unacknowledged",
    "keys_with_losses",
    "acknowledged_per_second",
    "server_peak_rss_mb",
    "server_cpu_utilization",
}


def test_a_smoke_soak_loses_nothing_it_acknowledged(capsys):
    results = soak.main(["--smoke"])
    assert set(results) >= FIELDS
    assert results["clients"] == soak.SMOKE["clients"]
    assert results["sent"] > 0 and results["acknowledged"] > 0
    assert results["sent"] == results["errors"] + results["transactions"]
    assert results["lost"] == 0 and results["keys_with_losses"] == 0
    assert results["stored"] >= results["acknowledged"]
    assert results["server_peak_rss_mb"] > 0
    assert '"lost": 0' in capsys.readouterr().out
