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
from _support import fake_runs

from plenexp import report
from plenexp.runs import results, rundir
from tests.conftest import REPO


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
    from plenexp.runs import results

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
    hrefs = {unquote(v) for t, v in parsed.links if t == "a"}
    grid = root / "ps_lbfgs" / "quick"
    for run in rundir.done_runs(grid):
        rel = run.relative_to(root).as_posix()
        # a thumbnail of the metamer; the other figures, provenance, log linked
        assert f"{rel}/metamer.png" in srcs
        assert f"{rel}/synthesis_status.svg" in hrefs
        assert f"{rel}/synthesis_status.png" not in srcs
        assert f"{rel}/provenance.json" in hrefs
        assert f"{rel}.log" in hrefs
    assert "ps_lbfgs/quick/summary/loss_vs_duration.png" in srcs
    assert "ps_lbfgs/quick/summary/metamers/LBFGS_seed-0.png" in srcs
    # summary figure opens its SVG; tables and other files are linked
    assert "ps_lbfgs/quick/summary/loss_vs_duration.svg" in hrefs
    assert {"ps_lbfgs/quick/summary/all_loss.csv",
            "ps_lbfgs/quick/summary/best_method.txt"} <= hrefs
    assert any(h.endswith(".profile.svg") for h in hrefs)
    assert "ps_lbfgs/quick/killed_run_device-cpu.log" in hrefs
    # each experiment links to its README in the checkout
    readmes = {(index.parent / h).resolve() for h in hrefs if h.endswith("README.md")}
    assert readmes == {REPO / name / "README.md" for name in ("ps_lbfgs", "ps_matlab")}


class _Tables(HTMLParser):
    """Every table of a page: its headings and its rows' cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"class": dict(attrs).get("class", ""),
                                "head": [], "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            row = self.tables[-1]["rows"][-1]
            row.append("".join(self._cell).strip())
            if tag == "th":
                self.tables[-1]["head"] = row
            self._cell = None


def run_tables(index: Path) -> list[dict]:
    parser = _Tables()
    parser.feed(index.read_text())
    tables = [t for t in parser.tables if "runs" in t["class"]]
    for table in tables:
        table["rows"] = [r for r in table["rows"] if r is not table["head"]]
    return tables


def test_page_content(root):
    report.write(root)
    page = (root / "index.html").read_text()
    parsed = parse(root / "index.html")
    # the best-method table is rendered, the 100-row table only linked
    assert "LBFGS-100 (highpass x100)" in parsed.cells and "0.1235" in parsed.cells
    # (the one 0.5 is a run's max_eval_fraction, not the 100 rows of 0.5)
    assert parsed.cells.count("0.5") == 1
    # the runs: one table per grid, the varying argument, loss and seconds
    lbfgs, matlab = run_tables(root / "index.html")
    assert lbfgs["head"] == ["max_eval", "max_eval_fraction", "loss",
                             "synthesis s", "process s", "image", "links"]
    # numeric order, None (LBFGS's own default) after the numbers; the run
    # with a damaged provenance.json (no arguments to show) last
    assert [row[0] for row in lbfgs["rows"]] == ["2", "None", ""]
    for row in lbfgs["rows"]:
        assert float(row[2]) > 0 and float(row[3]) > 0 and float(row[4]) > 0
    assert "provenance unreadable" in page
    assert "1 log(s) without a finished run" in page
    # figures/<run>.png goes with its run (its thumbnail); the rest apart
    matlab_page = page[page.index("ps_matlab / quick"):]
    run_row = matlab_page[matlab_page.index("<tbody>"):]
    assert "figures/" in run_row[:run_row.index("</tr>")]
    assert "Other figures" in matlab_page and "not_a_run" in matlab_page
    assert "ps_lbfgs / full" not in page and ".cache" not in page
    # the page works on a phone and sorts without a server
    assert "name='viewport'" in page and "addEventListener(\"click\"" in page


def test_each_experiment_opens_with_its_question_and_conclusion(root):
    summary = root / "ps_lbfgs" / "quick" / "summary"
    report.write(root)
    page = (root / "index.html").read_text()
    lbfgs = page[page.index("<h2 id='ps_lbfgs'>"):page.index("ps_lbfgs / quick")]
    # the README's first paragraph, markdown rendered
    assert "<strong>Question.</strong> How should <code>torch.optim.LBFGS</code>" \
        in lbfgs
    # no conclusion.txt: the best-method text stands in
    assert "budget 1: LBFGS" in lbfgs
    (summary / "conclusion.txt").write_text("Pareto front: iter-10 & eval-10.\n")
    report.write(root)
    page = (root / "index.html").read_text()
    lbfgs = page[page.index("<h2 id='ps_lbfgs'>"):page.index("ps_lbfgs / quick")]
    assert "Pareto front: iter-10 &amp; eval-10." in lbfgs
    assert "budget 1: LBFGS" not in lbfgs


def write_run(grid: Path, name: str, args: dict, loss: float) -> Path:
    run = grid / name
    run.mkdir(parents=True)
    rundir.write_json(run / "provenance.json", {"args": args, "argv": []})
    results.write_row({"loss": loss, "synth_duration": 1.5}, run / "loss.csv")
    rundir.write_json(run / rundir.DONE_MARKER, {})
    return run


def test_runs_are_listed_in_numeric_order(tmp_path):
    grid = tmp_path / "toy" / "quick"
    # names in text order would be iter-10, iter-2, iter-20, iter-5
    for it in (10, 2, 20, 5):
        for img in ("img10", "img2"):
            write_run(grid, f"{img}_iter-{it}",
                      {"img": img, "max_iter": it, "crop": 128,
                       "output_dir": str(grid / f"{img}_iter-{it}")}, 1 / it)
    report.write(tmp_path)
    (table,) = run_tables(tmp_path / "index.html")
    # output_dir differs but is not a result argument; crop does not vary
    assert table["head"][:3] == ["img", "max_iter", "loss"]
    assert [(r[0], r[1]) for r in table["rows"]] == [
        (img, str(it)) for img in ("img2", "img10") for it in (2, 5, 10, 20)]
    # every sortable cell carries its value for the page's script
    page = (tmp_path / "index.html").read_text()
    assert 'data-v="2.0"' in page and 'data-v="img10"' in page


def test_sort_key_orders_numbers_then_text_naturally():
    values = ["iter-10", "None", "20", "iter-2", 5, "1e-3", "fig16b", "fig4a"]
    assert sorted(values, key=report.sort_key) == [
        "1e-3", 5, "20", "fig4a", "fig16b", "iter-2", "iter-10", "None"]


def test_final_row_of_a_per_group_table():
    rows = [{"loss_func": "mse", "loss_type": "overall", "loss": "1"},
            {"loss_func": "l2_norm", "loss_type": "overall", "loss": "2"},
            {"loss_func": "l2_norm", "loss_type": "skew", "loss": "3"}]
    assert report.final_row(rows)["loss"] == "2"
    assert report.final_row([{"loss": "1"}, {"loss": "4"}])["loss"] == "4"


def test_runs_shown_per_grid_are_capped(root):
    report.write(root, max_runs=2)
    page = (root / "index.html").read_text()
    assert "the first 2 of 3" in page
    assert len(run_tables(root / "index.html")[0]["rows"]) == 2
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
def test_report_of_real_runs(smoke_grid):
    """The ps_lbfgs smoke grid, run, analyzed, summarized, reported."""
    root = smoke_grid("ps_lbfgs").parents[1]
    index = report.write(root)
    parsed = assert_links_resolve(index)
    images = [unquote(v) for t, v in parsed.links if t == "img"]
    runs = sorted(rundir.done_runs(root))
    # the summary figures and one thumbnail (the metamer) per run
    summary_pngs = sorted((root / "ps_lbfgs" / "smoke" / "summary").glob("*.png"))
    assert summary_pngs and len(images) == len(summary_pngs) + len(runs)
    (table,) = run_tables(index)
    # the smoke grid's two runs differ in max_eval (and its fraction) only
    assert table["head"][:3] == ["max_eval", "max_eval_fraction", "loss"]
    for run in runs:
        record = json.loads((run / "provenance.json").read_text())
        loss = float(rundir_row(run)["loss"])
        assert [str(record["args"]["max_eval"]), f"{loss:.4g}"] in [
            [r[0], r[2]] for r in table["rows"]]
