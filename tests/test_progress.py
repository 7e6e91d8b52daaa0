"""Progress lines for logs: at most one per interval, the last one of a phase always, time left from the rate."""

from fmsbench.progress import LogLines, SweepClock, duration


def test_lines_are_throttled_and_estimate_the_time_left() -> None:
    now = [0.0]
    lines: list[str] = []
    log = LogLines(lines.append, every=30, clock=lambda: now[0])
    log.update("finetune", 10, 110, "jobs")  # 10 already finished when the phase is first reported
    for step in range(1, 6):
        now[0] = step * 10.0
        log.update("finetune", 10 + step * 10, 110, "jobs", "900 training images/s")
    assert lines == ["finetune: 40/110 jobs, 900 training images/s, 30 s elapsed, about 1 min 10 s left"]
    now[0] = 100.0
    log.update("finetune", 110, 110, "jobs")
    assert lines[-1] == "finetune: 110/110 jobs, 1 min 40 s elapsed"


def test_durations_read_naturally() -> None:
    assert [duration(s) for s in (4.2, 200, 719.6, 7500)] == ["4 s", "3 min 20 s", "12 min 0 s", "2 h 5 min"]


def test_sweep_time_left_goes_by_each_methods_finished_runs() -> None:
    """Random search's epochs are nearly free, FMS's are not: the time left follows each method's own runs, and is
    a lower bound until a run of every method left has finished."""
    now = [0.0]
    methods = {"random 0": "random", "random 1": "random", "fms 0": "fms", "fms 1": "fms", "fms 2": "fms"}
    clock = SweepClock(methods, dict.fromkeys(methods, 100), jobs=2, clock=lambda: now[0])
    assert clock.left() is None
    clock.report("random 0", 100)  # finished before the sweep: done, but not a timing
    clock.report("random 1", 10)
    now[0] = 1.0
    clock.report("random 1", 100)
    clock.report("fms 0", 20)
    now[0] = 61.0
    clock.report("fms 0", 40)  # 20 epochs a minute so far: 240 s for its 80; no fms run has finished
    assert clock.left() == ((240 - 60 + 2 * 240) / 2, True)  # fms 1 and fms 2 are expected to take as long
    now[0] = 601.0
    clock.report("fms 0", 100)  # took 600 s
    clock.report("fms 1", 5)
    now[0] = 701.0
    assert clock.left() == ((600 - 100 + 600) / 2, False)  # fms 1 has 500 s to go, fms 2 all of its 600


def test_a_given_estimate_is_shown_as_such() -> None:
    lines: list[str] = []
    log = LogLines(lines.append, every=0, clock=lambda: 0.0)
    log.update("runs", 5, 10, "epochs replayed", left=lambda: (90.0, True))
    log.update("runs", 6, 10, "epochs replayed", left=lambda: (80.0, False))
    log.update("runs", 7, 10, "epochs replayed", left=lambda: None)
    assert lines == ["runs: 5/10 epochs replayed, 0 s elapsed, at least 1 min 30 s left",
                     "runs: 6/10 epochs replayed, 0 s elapsed, about 1 min 20 s left",
                     "runs: 7/10 epochs replayed, 0 s elapsed"]
