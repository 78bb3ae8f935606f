"""The hand-written Prometheus exposition: format, escaping, histograms, thread safety."""

from __future__ import annotations

import re
import threading

import pytest

from deploy_assistant.errors import StoreUnavailable
from deploy_assistant.watcher.metrics import Counter, Histogram, WatcherMetrics


def test_counters_render_with_help_type_and_sorted_labels() -> None:
    counter = Counter("x_total", "Things.", ("sink", "result"))
    counter.inc(sink="slack", result="sent")
    counter.inc(2, sink="gitlab", result="error")
    assert counter.header() == ["# HELP x_total Things.", "# TYPE x_total counter"]
    assert counter.samples() == [
        'x_total{sink="gitlab",result="error"} 2',
        'x_total{sink="slack",result="sent"} 1',
    ]


def test_label_values_are_escaped() -> None:
    counter = Counter("x_total", "Things.", ("component",))
    counter.inc(component='a"b\\c\nd')
    assert counter.samples() == ['x_total{component="a\\"b\\\\c\\nd"} 1']


def test_wrong_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="takes labels"):
        Counter("x_total", "Things.", ("sink",)).inc(channel="#x")


def test_histogram_buckets_are_cumulative_and_end_in_inf() -> None:
    histogram = Histogram("lat_seconds", "Latency.", (1.0, 5.0))
    for value in (0.5, 3.0, 3.0, 100.0):
        histogram.observe(value)
    assert histogram.samples() == [
        'lat_seconds_bucket{le="1"} 1',
        'lat_seconds_bucket{le="5"} 3',
        'lat_seconds_bucket{le="+Inf"} 4',
        "lat_seconds_sum 106.5",
        "lat_seconds_count 4",
    ]


def test_rollouts_gauge_is_read_at_scrape_time_and_skipped_when_the_store_fails() -> None:
    metrics = WatcherMetrics()
    counts = {"FAILED": 2}
    metrics.track_rollouts_by_status(lambda: counts)
    assert 'deploy_assistant_rollouts{status="FAILED"} 2' in metrics.render()
    counts["FAILED"] = 3
    assert 'deploy_assistant_rollouts{status="FAILED"} 3' in metrics.render()

    def broken() -> dict[str, int]:
        raise StoreUnavailable("The database failed: gone.")

    metrics.track_rollouts_by_status(broken)
    text = metrics.render()
    assert "deploy_assistant_rollouts{" not in text
    assert text.count("# TYPE deploy_assistant_rollouts gauge") == 1


def test_concurrent_increments_are_all_counted() -> None:
    metrics = WatcherMetrics()

    def bump() -> None:
        for _ in range(2000):
            metrics.errors_total.inc(component="ingest")

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert metrics.errors_total.value(component="ingest") == 16000


def test_every_line_of_a_full_render_is_valid_exposition() -> None:
    metrics = WatcherMetrics()
    metrics.track_rollouts_by_status(lambda: {"FAILED": 1, "SUCCEEDED": 4})
    metrics.verdict_latency_seconds.observe(12.5, status="FAILED")
    metrics.analyses_total.inc(result="ok")
    metrics.notifications_total.inc(sink="slack", result="sent")
    metrics.ingest_requests_total.inc(code="200")
    text = metrics.render()
    assert text.endswith("\n")
    sample = re.compile(
        r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-z_]+="[^"]*",?)*\})? (-?[0-9.e+]+|\+Inf)$'
    )
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or sample.match(line), line
