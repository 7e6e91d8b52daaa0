"""The CI regression gate: measurements, comparison with a baseline, and the `check` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmsbench.cli import app
from fmsbench.provenance import numeric_environment
from fmsbench.runs.check import Baseline, compare, failed, measure, write_baseline
from fmsbench.runs.experiment import load_experiment

runner = CliRunner()


def test_check_passes_on_its_baseline_and_fails_on_a_worse_result(finished: tuple[Path, Path], tmp_path: Path) -> None:
    recipe, results = finished
    experiment = load_experiment(recipe)
    current = measure(experiment, results)
    assert {m.metric for m in current} == {"final_regret", "tau@4", "tau@8"}
    assert not any(m.method == "random" and m.metric.startswith("tau") for m in current), "random has no tau"
    baseline = write_baseline(tmp_path / "baseline.json", str(recipe), current, {"final_regret": 0.01})
    assert Baseline.load(tmp_path / "baseline.json").measurements == baseline.measurements
    assert not failed(compare(baseline, current))

    run = results / "duo" / "alpha" / "gp" / "seed0.json"
    original = run.read_text()
    data = json.loads(original)
    data["steps"][-1]["regret"] += 0.1  # a deliberately worse final regret for one seed: mean +0.05
    run.write_text(json.dumps(data))
    try:
        worse = failed(compare(baseline, measure(experiment, results)))
    finally:
        run.write_text(original)
    assert [(c.key, c.status) for c in worse] == [(("duo", "alpha", "gp", "final_regret"), "worse")]
    assert worse[0].delta == pytest.approx(0.05)


def test_check_reports_missing_measurements(finished: tuple[Path, Path]) -> None:
    recipe, results = finished
    current = measure(load_experiment(recipe), results)
    baseline = Baseline(str(recipe), {"tau": 0.05, "final_regret": 0.01}, current)
    missing = failed(compare(baseline, [m for m in current if m.method != "gp"]))
    assert missing and {c.status for c in missing} == {"missing"}


def _record_baseline(recipe: Path, results: Path, folder: Path) -> Path:
    """`check --update` of the finished experiment into folder/baseline.json."""
    baseline = folder / "baseline.json"
    update = runner.invoke(app, ["check", "--baseline", str(baseline), "--experiment", str(recipe),
                                 "--results", str(results), "--update"])
    assert update.exit_code == 0, update.output
    return baseline


def test_cli_check_passes_then_fails_on_a_worsened_baseline(finished: tuple[Path, Path], tmp_path: Path) -> None:
    recipe, results = finished
    baseline = _record_baseline(recipe, results, tmp_path)
    passed = runner.invoke(app, ["check", "--baseline", str(baseline), "--results", str(results)])
    assert passed.exit_code == 0, passed.output
    assert "no regression" in passed.output
    data = json.loads(baseline.read_text())
    regret = next(m for m in data["measurements"] if m["metric"] == "final_regret" and m["method"] == "gp")
    regret["value"] -= 0.05  # the baseline was better than what the code gives now
    baseline.write_text(json.dumps(data))
    worse = runner.invoke(app, ["check", "--baseline", str(baseline), "--results", str(results)])
    assert worse.exit_code == 1, worse.output
    assert "1 regression(s)" in worse.output and "worse" in worse.output
    loose = runner.invoke(app, ["check", "--baseline", str(baseline), "--results", str(results),
                                "--tolerance-regret", "0.1"])
    assert loose.exit_code == 0, loose.output


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: d["measurements"][0].update(value="0.5"), r"measurements\[0\]: value: expected float"),
    (lambda d: d["measurements"][0].update(metric="tau@x"), r"measurements\[0\]: metric 'tau@x'"),
    (lambda d: d.update(tolerance={"tau": -1}), "tolerance: tau = -1"),
    (lambda d: d.update(measurements={}), "measurements: expected a list"),
    (lambda d: d.update(experiment=3), "experiment: expected str"),
    (None, "is not a readable baseline file"),  # not UTF-8
])
def test_a_bad_baseline_is_refused_before_the_experiment_runs(finished: tuple[Path, Path], tmp_path: Path,
                                                             damage, message: str) -> None:  # noqa: ANN001
    recipe, results = finished
    baseline = tmp_path / "baseline.json"
    write_baseline(baseline, str(recipe), measure(load_experiment(recipe), results))
    data = json.loads(baseline.read_text())
    if damage is None:
        baseline.write_bytes(b"\xff" + baseline.read_bytes())
    else:
        damage(data)
        baseline.write_text(json.dumps(data))
    fresh = tmp_path / "fresh"
    result = runner.invoke(app, ["check", "--baseline", str(baseline), "--results", str(fresh)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert re.search(message, " ".join(result.output.split()))
    assert not fresh.exists(), "nothing may run before the baseline is read"


def test_on_another_machine_the_wider_tolerances_apply(finished: tuple[Path, Path], tmp_path: Path) -> None:
    """Another CPU's kernels move the tiny hub's numbers with no change to the code (README, Reproducibility)."""
    recipe, results = finished
    baseline = _record_baseline(recipe, results, tmp_path)
    data = json.loads(baseline.read_text())
    assert data["environment"] == numeric_environment()
    regret = next(m for m in data["measurements"] if m["metric"] == "final_regret" and m["method"] == "gp")
    regret["value"] -= 0.04  # beyond the same-machine tolerance (0.01), within the other-machine one (0.05)

    def check(environment: dict | None, *flags: str) -> str:
        if environment is None:
            data.pop("environment", None)
        else:
            data["environment"] = environment
        baseline.write_text(json.dumps(data))
        result = runner.invoke(app, ["check", "--baseline", str(baseline), "--results", str(results), *flags])
        return f"{result.exit_code} " + " ".join(result.output.split())

    assert check(numeric_environment()).startswith("1 ")  # same machine: the tight gate
    elsewhere = check({**numeric_environment(), "cpu": "Another CPU"})
    assert elsewhere.startswith("0 ") and "measured with torch" in elsewhere and "on Another CPU" in elsewhere
    assert "tolerance: tau 0.35, final regret 0.05" in elsewhere
    unrecorded = check(None)
    assert unrecorded.startswith("0 ") and "a machine it does not record" in unrecorded
    assert check(None, "--tolerance-regret", "0.01").startswith("1 "), "a tolerance given on the command line wins"
