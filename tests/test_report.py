"""plenexp.report: index.html over every experiment, every link resolving."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from plenexp import fake_runs, report, rundir

from .conftest import REPO


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.ids: set[str] = set()
        self.cells: list[str] = []
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href"):
                self.links.append((tag, value))
            if name == "id":
                self.ids.add(value)
        self._in_td = tag == "td"

    def handle_data(self, data):
        if self._in_td:
            self.cells.append(data)

    def handle_endtag(self, tag):
        self._in_td = False


def parse(index: Path) -> _Links:
    parser = _Links()
    parser.feed(index.read_text())
    return parser


def assert_links_resolve(index: Path) -> _Links:
    """Every src and href is relative and names an existing file or anchor."""
    parsed = parse(index)
    assert parsed.links
    for tag, link in parsed.links:
        url = urlparse(link)
        assert not url.scheme and not url.netloc and not link.startswith("/"), link
        if link.startswith("#"):
            assert link[1:] in parsed.ids, link
            continue
        target = index.parent / unquote(url.path)
        assert target.exists(), f"<{tag}> {link} -> {target}"
    return parsed


def rundir_row(run: Path) -> dict:
    from plenexp import results

    return results.read_rows(run / "loss.csv")[0]


def _png(path: Path, value: int = 128) -> None:
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.full((16, 16), value, np.uint8))


@pytest.fixture
def root(tmp_path) -> Path:
    """An output root with awkward names, like two experiments leave it."""
    root = tmp_path / "out root, 'quoted' #1 %20"
    grid = root / "ps_lbfgs" / "quick"
    runs = fake_runs.write_ps_lbfgs_runs(grid, 3)
    for run in runs:
        _png(run / "metamer.png")
        _png(run / "synthesis_status.png")
        (run / "synthesis_status.svg").write_text("<svg/>")
    # a profiled run, a damaged provenance, an unfinished run with only a log
    profiled = runs[0]
    for suffix in report.PROFILE_SUFFIXES:
        profiled.with_name(profiled.name + suffix).write_text("{}")
    (runs[1] / "provenance.json").write_text('{"args": ')
    (grid / "killed_run_device-cpu.log").write_text("iteration 1/3\n")
    (grid / ".killed_run_device-cpu.partial-99999").mkdir()
    summary = grid / "summary"
    _png(summary / "loss_vs_duration.png")
    (summary / "loss_vs_duration.svg").write_text("<svg/>")
    (summary / "all_loss.csv").write_text("loss\n" + "0.5\n" * 100)
    (summary / "best_method.csv").write_text(
        "budget_s,best_method,best_loss\n1,LBFGS-100 (highpass x100),0.123456\n"
        "2,matlab,0.0456\n")
    (summary / "best_method.txt").write_text("budget 1: LBFGS\n")
    _png(summary / "metamers" / "LBFGS_seed-0.png")
    # a second experiment whose per-run figures live in figures/<run>.png
    other = root / "ps_matlab" / "quick"
    (run,) = fake_runs.write_ps_lbfgs_runs(other, 1)
    _png(other / "figures" / f"{run.name}.png")
    _png(other / "figures" / "not_a_run.png")
    # directories that hold no results
    (root / "ps_lbfgs" / "full").mkdir()
    (root / ".cache" / "matplotlib").mkdir(parents=True)
    return root


def test_every_image_and_link_resolves(root):
    index = report.write(root)
    assert index == root / "index.html"
    parsed = assert_links_resolve(index)
    srcs = {unquote(link) for tag, link in parsed.links if tag == "img"}
    grid = root / "ps_lbfgs" / "quick"
    for run in rundir.done_runs(grid):
        rel = run.relative_to(root).as_posix()
        assert f"{rel}/metamer.png" in srcs
        # each run links to its arguments and provenance
        assert ("a", f"{rel}/provenance.json") in {
            (t, unquote(v)) for t, v in parsed.links}
    assert "ps_lbfgs/quick/summary/loss_vs_duration.png" in srcs
    assert "ps_lbfgs/quick/summary/metamers/LBFGS_seed-0.png" in srcs
    hrefs = {unquote(v) for t, v in parsed.links if t == "a"}
    # summary figure opens its SVG; tables and other files are linked
    assert "ps_lbfgs/quick/summary/loss_vs_duration.svg" in hrefs
    assert {"ps_lbfgs/quick/summary/all_loss.csv",
            "ps_lbfgs/quick/summary/best_method.txt"} <= hrefs
    assert any(h.endswith(".profile.svg") for h in hrefs)
    assert "ps_lbfgs/quick/killed_run_device-cpu.log" in hrefs


def test_page_content(root):
    report.write(root)
    page = (root / "index.html").read_text()
    parsed = parse(root / "index.html")
    # the best-method table is rendered, the 100-row table only linked
    assert "LBFGS-100 (highpass x100)" in parsed.cells and "0.1235" in parsed.cells
    assert "0.5" not in parsed.cells
    # the recorded arguments are shown, a damaged provenance is said to be so
    assert "history_size" in page and "provenance unreadable" in page
    assert "1 log(s) without a finished run" in page
    # figures/<run>.png goes with its run; the rest is shown apart
    matlab = page[page.index("ps_matlab / quick"):]
    run_card = matlab[matlab.index("class='run'"):]
    assert "figures/" in run_card[:run_card.index("</div></div>")]
    assert "Other figures" in matlab and "not_a_run" in matlab
    assert "ps_lbfgs / full" not in page and ".cache" not in page


def test_runs_shown_per_grid_are_capped(root):
    report.write(root, max_runs=2)
    page = (root / "index.html").read_text()
    assert "the first 2 of 3" in page
    assert_links_resolve(root / "index.html")


def test_command_line(root, tmp_path, script_env):
    proc = subprocess.run([sys.executable, "-m", "plenexp.report", "--output-root",
                           str(root)], capture_output=True, text=True, env=script_env,
                          cwd=tmp_path, timeout=120)
    # the page is written; the damaged provenance is named, so the status is 1
    assert proc.returncode == 1, proc.stderr
    assert "2 grid(s), 4 finished run(s)" in proc.stdout
    assert "provenance.json: " in proc.stderr
    missing = tmp_path / "nowhere"
    proc = subprocess.run([sys.executable, "-m", "plenexp.report", "--output-root",
                           str(missing)], capture_output=True, text=True,
                          env=script_env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "no output root" in proc.stderr and not missing.exists()


def test_empty_root_says_what_to_do(tmp_path):
    report.write(tmp_path)
    assert "No results yet" in (tmp_path / "index.html").read_text()


@pytest.mark.slow
def test_report_of_real_runs(tmp_path, run_script, script_env):
    """The ps_lbfgs smoke grid through disBatch, analyzed, summarized, reported."""
    root = tmp_path / "out root"
    run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--output-root", root)
    proc = subprocess.run([sys.executable, "-m", "plenexp.disbatch_local",
                           str(root / "ps_lbfgs/smoke/disbatch-cpu.txt")],
                          capture_output=True, text=True, env=script_env, cwd=REPO,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_script("ps_lbfgs/analyze.py", root / "ps_lbfgs" / "smoke")
    run_script("ps_lbfgs/summarize.py", "--grid", "smoke", "--output-root", root)
    index = report.write(root)
    parsed = assert_links_resolve(index)
    images = [unquote(v) for t, v in parsed.links if t == "img"]
    # the summary figure and every run's three figures and metamer
    assert len(images) == 1 + 2 * 4
    page = index.read_text()
    assert page.count("<summary>arguments</summary>") == 2
    for run in rundir.done_runs(root):
        record = json.loads((run / "provenance.json").read_text())
        assert f"<th>history_size</th><td>{record['args']['history_size']}</td>" \
            in page
        loss = float(rundir_row(run)["loss"])
        assert f"loss {loss:.4g} &middot;" in page
