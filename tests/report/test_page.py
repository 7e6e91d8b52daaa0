"""The results page: its structure, and how a real browser (headless Chromium) loads it."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmsbench.cli import app

runner = CliRunner()
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => __errors.push(String(e.message || (e.target && (e.target.src || "").slice(0, 80)))), true);
window.addEventListener("load", () => {
  const images = [...document.images];
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    errors: __errors, images: images.length,
    decoded: images.filter(i => i.complete && i.naturalWidth > 0).length,
    sections: [...document.querySelectorAll("section[id]")].map(s => s.id),
    tables: document.querySelectorAll("table.results").length,
    bold: document.querySelectorAll("table.results strong").length,
    commands: (document.querySelector("#protocol pre") || {}).textContent || ""});
  document.body.appendChild(probe);
});
</script>"""


@pytest.fixture(scope="module")
def page(results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("page")
    result = runner.invoke(app, ["report", str(results), "--budgets", "4,8", "--html", str(folder / "report.html"),
                                 "--out", str(folder / "plots"), "--export", str(folder)])
    assert result.exit_code == 0, result.output
    return folder / "report.html"


def test_page_structure(page: Path) -> None:
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "src=\"http" not in text and "<link" not in text  # self-contained
    for section in ("caveats", "protocol", "headroom", "results", "figures", "definitions", "data"):
        assert f'<section id="{section}"' in text
    heads = re.findall(r'<table class="results"><thead>(.*?)</thead>', text)
    assert len(heads) == text.count('<table class="results">') >= 8
    assert all(head.count("<tr>") == 1 for head in heads)  # one header row per table, no stray pandas rows
    assert "<th>column</th>" not in text and "fmsbench run --method random,hyperband" in text
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text)
    assert len(captions) == text.count("<img") >= 8 and not any(c.endswith(".png") for c in captions)
    assert "Lower is better" in text and "Higher is better" in text and "<strong>" in text


def test_page_in_a_real_browser(page: Path, tmp_path: Path) -> None:
    browser = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if browser is None:
        pytest.skip(f"no Chromium binary ({', '.join(BROWSERS)}) on PATH; .ci/run installs it")
    probed = tmp_path / "probed.html"
    probed.write_text(page.read_text().replace("<head>", "<head>" + PROBE, 1))
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, f"the page did not finish loading: {dom[-500:]}"
    state = json.loads(html.unescape(found.group(1)))
    assert state["errors"] == []
    assert state["images"] == page.read_text().count("<img") and state["decoded"] == state["images"]
    assert {"caveats", "protocol", "headroom", "results", "figures"} <= set(state["sections"])
    assert state["tables"] >= 8 and state["bold"] >= state["tables"] - 1 and "fmsbench run" in state["commands"]
