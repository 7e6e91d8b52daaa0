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

    def update(self, phase: str, done: int, total: int, unit: str, rate: str = "",
               left: Callable[[], tuple[float, bool] | None] | None = None) -> None:
        """Report `done` of `total` `unit` of `phase`; `rate` (e.g. "5,230 training images/s") is shown as given.
        `left` replaces the estimate from the rate: (seconds left, whether that is only a lower bound) or None."""
        now = self.clock()
        started, done_then = self._start.setdefault(phase, (now, done))
        finished = done >= total
        if not finished and now - self._last.get(phase, started) < self.every:
            return
        self._last[phase] = now
        elapsed, progress = now - started, done - done_then
        estimate = left() if left else (elapsed / progress * (total - done), False) if progress > 0 else None
        text = "" if finished or estimate is None else \
            f", {'at least' if estimate[1] else 'about'} {duration(estimate[0])} left"
        self.write(f"{phase}: {done}/{total} {unit}{f', {rate}' if rate else ''}, {duration(elapsed)} elapsed{text}")


class SweepClock:
    """Time left of a sweep of runs whose cost per epoch differs by method (random search replays 100 epochs in a
    second, FMS-GMN in minutes) and grows within a model-based run (each step refits on more observations), so
    that epochs replayed say little about the time left.

    A run's wall time counts from its first report to its last (runs reported finished at their first report
    were finished before the sweep: they count as done, not as timings). An unfinished run of a method is
    expected to take as long as that method's finished runs took on average: queued runs in full, running runs
    less their elapsed time; `jobs` workers share what is left. While some method left has no finished run, its
    runs are expected to take what its running runs will at their rate since their first report (nothing, before
    one has progressed), and the estimate is a lower bound: a model-based run slows as it goes.
    """

    def __init__(self, methods: dict[str, str], totals: dict[str, int], jobs: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """methods: run label -> its method; totals: run label -> the epochs it will replay."""
        self.methods, self.totals, self.jobs, self.clock = methods, totals, max(1, jobs), clock
        self._started: dict[str, tuple[float, int]] = {}  # label -> (time, epochs done) of its first report
        self._done: dict[str, int] = {}
        self._walls: dict[str, list[float]] = {}

    def report(self, label: str, done: int) -> None:
        now, previous = self.clock(), self._done.get(label)
        self._done[label] = done
        if previous is None:  # its first report: from here its time counts
            self._started[label] = (now, done)
        elif previous < self.totals[label] <= done:
            self._walls.setdefault(self.methods[label], []).append(now - self._started[label][0])

    def left(self) -> tuple[float, bool] | None:
        """(seconds left, whether only a lower bound), or None before any run has reported progress."""
        if not self._done:
            return None
        now = self.clock()
        unfinished = [label for label in self.methods if self._done.get(label, 0) < self.totals[label]]
        typical, lower = {}, False
        for method in {self.methods[label] for label in unfinished}:
            walls = self._walls.get(method)
            if not walls:  # project its running runs' walls from their rate so far
                lower = True
                walls = [(now - started) / (self._done[label] - done_then) * (self.totals[label] - done_then)
                         for label, (started, done_then) in self._started.items()
                         if self.methods[label] == method and self._done[label] > done_then]
            typical[method] = sum(walls) / len(walls) if walls else 0.0
        seconds = sum(max(0.0, typical[self.methods[label]] - (now - self._started.get(label, (now, 0))[0]))
                      for label in unfinished)
        return seconds / self.jobs, lower
