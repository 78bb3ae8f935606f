"""Virtual time for the simulator: a clock that can be fast-forwarded, and one event queue.

Every timed behaviour (a pull finishing, a container crashing, a probe failing, a deadline passing)
is a callback on one heap of `(virtual_time, seq, callback)` run by one thread, so controllers never
race each other and an idle object costs nothing: it has no entry in the heap.

Before the scenario's first apply, the clock is frozen and `run_until` runs the heap synchronously,
jumping the clock to each callback's time, so a scenario's history (earlier rollouts, old restarts,
a stale deadline) is simulated, not canned, and costs no wall time.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from deploy_assistant.clock import ScaledClock

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
Callback = Callable[[], None]


class SimClock(ScaledClock):
    """A `ScaledClock` that starts frozen at `start_seconds` and can jump forward while frozen.

    `monotonic()` is virtual seconds relative to the scenario's first apply (negative before it);
    `now()` is the origin plus that, so the first apply happens at `origin`.
    """

    def __init__(
        self, speed: float = 1.0, origin: datetime | None = None, start_seconds: float = 0.0
    ) -> None:
        super().__init__(speed, origin)
        self._lock = threading.Lock()
        self._base_seconds = start_seconds
        self._real_base: float | None = None

    def monotonic(self) -> float:
        with self._lock:
            if self._real_base is None:
                return self._base_seconds
            return self._base_seconds + (time.monotonic() - self._real_base) * self.speed

    def now(self) -> datetime:
        return self.moment(self.monotonic())

    def moment(self, seconds: float) -> datetime:
        """The wall time of virtual second `seconds` (`moment(0)` is the first apply)."""
        return self._origin + timedelta(seconds=seconds)

    @property
    def frozen(self) -> bool:
        return self._real_base is None

    def jump_to(self, seconds: float) -> None:
        """Move a frozen clock forward (never back)."""
        with self._lock:
            if self._real_base is not None:
                raise RuntimeError("the clock is running; it can only jump while frozen")
            self._base_seconds = max(self._base_seconds, seconds)

    def release(self) -> None:
        """Start running in real time (scaled by `speed`) from the current virtual time."""
        with self._lock:
            if self._real_base is None:
                self._real_base = time.monotonic()


class Engine:
    """The simulator's single event loop over virtual time."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Callback]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._due: float | None = None
        self._runner: int | None = None
        self._in_flight = False
        self.errors: list[str] = []
        """One line per callback that raised (tests assert this stays empty)."""
        self.callbacks_run = 0

    def now(self) -> float:
        """Virtual seconds. Inside a callback: its due time, so a callback that runs a little late
        (thread scheduling at high speed) still schedules what follows at exact offsets and the
        simulation does not depend on the host's timing."""
        if self._due is not None and self._runner == threading.get_ident():
            return self._due
        return self.clock.monotonic()

    def at(self, when_seconds: float, callback: Callback) -> None:
        """Run `callback` on the engine thread at virtual time `when_seconds` (or now if past)."""
        with self._cond:
            heapq.heappush(self._heap, (when_seconds, next(self._seq), callback))
            self._cond.notify()

    def after(self, delay_seconds: float, callback: Callback) -> None:
        self.at(self.now() + max(0.0, delay_seconds), callback)

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def _run(self, due_seconds: float, callback: Callback) -> None:
        self.callbacks_run += 1
        self._due, self._runner = due_seconds, threading.get_ident()
        try:
            callback()
        except Exception as exc:
            log.exception("simulator callback failed")
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self._due = None

    def run_until(self, when_seconds: float) -> None:
        """Fast-forward a frozen clock: run every callback due by `when_seconds`, in order."""
        while True:
            with self._cond:
                if not self._heap or self._heap[0][0] > when_seconds:
                    break
                due, _, callback = heapq.heappop(self._heap)
            self.clock.jump_to(due)
            self._run(due, callback)
        self.clock.jump_to(when_seconds)

    def wait_processed(self, when_seconds: float, timeout_real_seconds: float = 30.0) -> bool:
        """Block until every callback due by `when_seconds` has run (the engine thread can lag
        behind the clock on a busy machine); False if that took longer than the timeout."""
        deadline = time.monotonic() + timeout_real_seconds
        while time.monotonic() < deadline:
            with self._cond:
                due_now = bool(self._heap) and self._heap[0][0] <= when_seconds
                if not due_now and not self._in_flight:
                    return True
            time.sleep(0.002)
        return False

    def start(self) -> None:
        """Release the clock and run callbacks in (scaled) real time on a daemon thread."""
        self.clock.release()
        self._thread = threading.Thread(target=self._loop, name="sim-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                if not self._heap:
                    self._cond.wait()
                    continue
                wait_seconds = self._heap[0][0] - self.now()
                if wait_seconds > 0:
                    self._cond.wait(timeout=self.clock.to_real_seconds(wait_seconds))
                    continue
                due, _, callback = heapq.heappop(self._heap)
                self._in_flight = True
            try:
                self._run(due, callback)
            finally:
                with self._cond:
                    self._in_flight = False


class WorkQueue(Generic[K]):
    """Coalesces requests to sync one key into one callback, like client-go's workqueue.

    Thread-safe: store listeners add keys from whichever thread wrote; the handler runs on the
    engine thread. A key asked for again before it runs keeps the earlier due time.
    """

    def __init__(self, engine: Engine, handler: Callable[[K], None]) -> None:
        self._engine = engine
        self._handler = handler
        self._lock = threading.Lock()
        self._due: dict[K, float] = {}

    def add(self, key: K, delay_seconds: float = 0.0) -> None:
        due = self._engine.now() + max(0.0, delay_seconds)
        with self._lock:
            current = self._due.get(key)
            if current is not None and current <= due:
                return
            self._due[key] = due
        self._engine.at(due, lambda: self._fire(key, due))

    def _fire(self, key: K, due: float) -> None:
        with self._lock:
            if self._due.get(key) != due:
                return
            del self._due[key]
        self._handler(key)
