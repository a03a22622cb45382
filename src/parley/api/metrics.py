"""Prometheus metrics, in a registry of the app's own (several apps share a test process, and
each must count only its own requests), with the standard `process_*` and `python_gc_*`
collectors on it.

HTTP requests, commits and broker publishes are observed as they happen (per request, per
commit, per publish: never per delivered frame). Everything else is read from the running
app at scrape time (`LiveCollector`, `api.readings`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS_SECS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FAST_BUCKETS_SECS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
"""A commit or a publish: sub-millisecond on a healthy database or broker."""


@dataclass(frozen=True, slots=True)
class Reading:
    name: str
    help: str
    value: float
    counter: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    """One sample of a labelled family: readings of the same name make one metric."""


class LiveCollector(Collector):
    """Values read from the running app at scrape time: nothing to count on the hot paths."""

    def __init__(self, read: Callable[[], list[Reading]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        labelled: dict[str, Metric] = {}
        for reading in self._read():
            family = CounterMetricFamily if reading.counter else GaugeMetricFamily
            if not reading.labels:
                yield family(reading.name, reading.help, value=reading.value)
                continue
            names = [name for name, _ in reading.labels]
            metric = labelled.get(reading.name)
            if metric is None:
                metric = labelled[reading.name] = family(reading.name, reading.help, labels=names)
            metric.add_metric([value for _, value in reading.labels], reading.value)  # type: ignore[attr-defined]
        yield from labelled.values()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # The process-wide collectors hold no state of their own: one instance serves every
        # registry (a second ProcessCollector would read /proc twice for nothing).
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(standard)
        self.http_requests = Counter(
            "parley_http_requests",
            "HTTP requests handled, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "parley_http_request_duration_seconds",
            "HTTP request latency, from the first byte in to the last byte out.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_SECS,
            registry=self.registry,
        )

        self.commit_latency = Histogram(
            "parley_db_commit_duration_seconds",
            "Database commits of a unit of work (a group-commit batch of sends is one).",
            buckets=FAST_BUCKETS_SECS,
            registry=self.registry,
        )
        self.publish_latency = Histogram(
            "parley_broker_publish_duration_seconds",
            "Publishes of one event to the broker (or the recovery log), after commit.",
            buckets=FAST_BUCKETS_SECS,
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_latency.labels(method, route).observe(seconds)

    def watch_live(self, read: Callable[[], list[Reading]]) -> None:
        self.registry.register(LiveCollector(read))

    def render(self) -> bytes:
        return generate_latest(self.registry)
