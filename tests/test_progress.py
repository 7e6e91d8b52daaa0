"""Progress lines for logs: at most one per interval, the last one of a phase always, time left from the rate."""

from fmsbench.progress import LogLines, duration


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
