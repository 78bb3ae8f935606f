"""The watcher's metrics, rendered in the Prometheus text exposition format (version 0.0.4).

A small thread-safe registry instead of `prometheus_client`: five instruments do not justify a
dependency. Gauges whose value lives in the database are read at scrape time by a callback.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LabelValues = tuple[str, ...]

VERDICT_LATENCY_BUCKETS_SECONDS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Instrument:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str]) -> None:
        self.name = name
        self.help_text = help_text
        self.label_names = tuple(label_names)
        self._lock = threading.Lock()

    def _key(self, labels: Mapping[str, str]) -> LabelValues:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return tuple(str(labels[name]) for name in self.label_names)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Instrument):
    kind = "counter"

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, label_names)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {_number(v)}" for k, v in items]


class CallbackGauge(_Instrument):
    """A gauge read from `read()` at scrape time; a failing read leaves it out of the scrape."""

    kind = "gauge"

    def __init__(
        self,
        name: str,
        help_text: str,
        label_names: Sequence[str],
        read: Callable[[], Mapping[LabelValues, float]],
    ) -> None:
        super().__init__(name, help_text, label_names)
        self._read = read

    def samples(self) -> list[str]:
        try:
            values = self._read()
        except Exception:  # a scrape must not fail because the database is away
            logger.warning("could not read gauge %s", self.name, exc_info=True)
            return []
        return [
            f"{self.name}{_labels(self.label_names, k)} {_number(v)}"
            for k, v in sorted(values.items())
        ]


class Histogram(_Instrument):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        buckets: Sequence[float],
        label_names: Sequence[str] = (),
    ) -> None:
        super().__init__(name, help_text, label_names)
        self.buckets = (*sorted(buckets), math.inf)
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * len(self.buckets))
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[index] += 1
            self._sums[key] = self._sums.get(key, 0.0) + value

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(c), self._sums[k]) for k, c in self._counts.items())
        lines = []
        for key, counts, total in items:
            for bound, count in zip(self.buckets, counts, strict=True):
                le = f'le="{_number(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {count}")
            lines.append(f"{self.name}_sum{_labels(self.label_names, key)} {_number(total)}")
            lines.append(f"{self.name}_count{_labels(self.label_names, key)} {counts[-1]}")
        return lines


class WatcherMetrics:
    """The instruments the watcher's roles update, and their exposition."""

    def __init__(self) -> None:
        self.verdict_latency_seconds = Histogram(
            "deploy_assistant_verdict_latency_seconds",
            "Seconds from a rollout's start to its verdict.",
            VERDICT_LATENCY_BUCKETS_SECONDS,
            ("status",),
        )
        self.analyses_total = Counter(
            "deploy_assistant_analyses_total", "Analyses attempted, by result.", ("result",)
        )
        self.notifications_total = Counter(
            "deploy_assistant_notifications_total",
            "Notification attempts, by sink and result.",
            ("sink", "result"),
        )
        self.errors_total = Counter(
            "deploy_assistant_errors_total", "Errors, by component.", ("component",)
        )
        self.ingest_requests_total = Counter(
            "deploy_assistant_ingest_requests_total", "Ingest API requests, by status.", ("code",)
        )
        self._instruments: list[_Instrument] = [
            self.verdict_latency_seconds,
            self.analyses_total,
            self.notifications_total,
            self.errors_total,
            self.ingest_requests_total,
        ]

    def track_rollouts_by_status(self, read: Callable[[], Mapping[str, int]]) -> None:
        """Expose `deploy_assistant_rollouts{status}` from `read()` (status → count)."""

        def values() -> dict[LabelValues, float]:
            return {(status,): float(count) for status, count in read().items()}

        gauge = CallbackGauge(
            "deploy_assistant_rollouts", "Rollouts by status.", ("status",), values
        )
        self._instruments = [i for i in self._instruments if i.name != gauge.name] + [gauge]

    def render(self) -> str:
        lines: list[str] = []
        for instrument in self._instruments:
            lines.extend(instrument.header())
            lines.extend(instrument.samples())
        return "\n".join(lines) + "\n"
