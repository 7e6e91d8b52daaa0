"""Progress of long work where no progress bar can be drawn (output piped to a file or a CI log).

`LogLines` prints one line at most every `LOG_SECONDS`, plus the last one of each phase: the phase, work done of
the total, a rate and the time left at that rate, so a log shows a build or a sweep moving without flooding it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

LOG_SECONDS = 30.0


def duration(seconds: float) -> str:
    """12 s, 3 min 20 s, 2 h 5 min."""
    whole = round(max(0.0, seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


class LogLines:
    """Throttled progress lines through `write` (e.g. a console's print). Time left is estimated from the
    progress made since a phase was first reported (work found finished at the start does not count)."""

    def __init__(self, write: Callable[[str], None], every: float = LOG_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.write, self.every, self.clock = write, every, clock
        self._start: dict[str, tuple[float, int]] = {}
        self._last: dict[str, float] = {}

    def update(self, phase: str, done: int, total: int, unit: str, rate: str = "") -> None:
        """Report `done` of `total` `unit` of `phase`; `rate` (e.g. "5,230 training images/s") is shown as given."""
        now = self.clock()
        started, done_then = self._start.setdefault(phase, (now, done))
        finished = done >= total
        if not finished and now - self._last.get(phase, started) < self.every:
            return
        self._last[phase] = now
        elapsed, progress = now - started, done - done_then
        left = f", about {duration(elapsed / progress * (total - done))} left" if progress > 0 and not finished else ""
        self.write(f"{phase}: {done}/{total} {unit}{f', {rate}' if rate else ''}, {duration(elapsed)} elapsed{left}")
