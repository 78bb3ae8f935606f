"""Time as a dependency: the tool and the simulator read the same clock.

Every window, timeout and ceiling in the product is measured with an injected `Clock`, so tests and
`da-ci demo` can run a ten-minute rollout in seconds on the simulator's virtual clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time for timestamps, monotonic seconds for intervals, and a sleep that follows both."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` of this clock's time."""
        ...

    def to_real_seconds(self, seconds: float) -> float:
        """How many real seconds `seconds` of this clock's time take (for socket timeouts)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def to_real_seconds(self, seconds: float) -> float:
        return seconds


class ScaledClock:
    """A virtual clock running `speed` times faster than real time from a fixed origin.

    Used by the simulator and by every tool component that runs against it, so both agree on the
    time: a 600 s progress deadline at speed 100 passes in six real seconds.
    """

    def __init__(self, speed: float = 1.0, origin: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin = origin or datetime(2026, 1, 1, tzinfo=UTC)
        self._real_start = time.monotonic()

    def monotonic(self) -> float:
        return (time.monotonic() - self._real_start) * self.speed

    def now(self) -> datetime:
        from datetime import timedelta

        return self._origin + timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)

    def to_real_seconds(self, seconds: float) -> float:
        return seconds / self.speed
