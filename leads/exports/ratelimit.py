"""A sliding-window rate limit with an injectable clock, so tests never sleep."""
import time
from collections import deque


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class RateLimiter:
    """At most ``limit`` calls in any ``period`` seconds: ``wait()`` before each call."""

    def __init__(self, *, limit: int, period: float, clock=None):
        self.limit = limit
        self.period = period
        self.clock = clock or SystemClock()
        self._calls: deque[float] = deque()

    def wait(self) -> None:
        now = self.clock.monotonic()
        while self._calls and now - self._calls[0] >= self.period:
            self._calls.popleft()
        if len(self._calls) >= self.limit:
            self.clock.sleep(self.period - (now - self._calls[0]))
            now = self.clock.monotonic()
            self._calls.popleft()
        self._calls.append(now)
