"""One browsable page of every result under an output root: ``index.html``.

Usage: ``python -m plenexp.report [--output-root ROOT] [--max-runs N]``.

Everything is discovered, nothing is named in advance: an experiment is a
directory of the root, a grid one of its directories that holds finished runs
(``done.json``) or a ``summary/``. Per grid the page shows the summary figures
(PNG, linked to the SVG), small summary tables such as the best-method table
rendered in full (every CSV linked), and a gallery of per-run figures: the
PNGs in each run directory, and those named after a run elsewhere in the grid
(e.g. ``figures/<run>.png``). Each run links to its recorded arguments and
provenance (``provenance.json``), its log and, if recorded, its profile. All
links are relative, so the root can be copied or served as it is.
"""

from __future__ import annotations

import csv
import datetime
import math
import os
import shlex
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from urllib.parse import quote

from . import cli, paths, provenance, results, rundir

INDEX = "index.html"
SUMMARY = "summary"
#: Tables with at most this many rows are shown in full (others only linked).
MAX_TABLE_ROWS = 60
#: Per-run values shown under a run's figures, when its ``loss.csv`` has them.
RUN_VALUES = ("loss", "l2_norm", "synth_iter", "synth_duration",
              "process_duration", "peak_rss_mb")
#: Files that belong to a run but are not figures of it.
PROFILE_SUFFIXES = (".profile.svg", ".profile.speedscope.json")


@dataclass
class Run:
    """A finished run and the figures that show it."""

    dir: Path
    figures: list[Path] = field(default_factory=list)


@dataclass
class Grid:
    """One grid of one experiment."""

    experiment: str
    name: str
    dir: Path
    runs: list[Run] = field(default_factory=list)
    unfinished_logs: list[Path] = field(default_factory=list)
    other_figures: list[Path] = field(default_factory=list)
    #: One line per file that could not be read, naming it.
    problems: list[str] = field(default_factory=list)


def _visible_dirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir()
                      if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def find_grids(root: Path) -> list[Grid]:
    """Every grid below ``root`` with finished runs or a summary."""
    grids = []
    for experiment in _visible_dirs(root):
        for grid_dir in _visible_dirs(experiment):
            problems: list[str] = []
            runs = sorted(rundir.done_runs(grid_dir, problems))
            if not runs and not _has_files(grid_dir / SUMMARY):
                continue
            grid = Grid(experiment.name, grid_dir.name, grid_dir,
                        [Run(r, sorted(r.glob("*.png"))) for r in runs],
                        problems=problems)
            _attach_figures(grid)
            finished = {r.dir.name for r in grid.runs}
            grid.unfinished_logs = sorted(
                log for log in grid_dir.glob("*.log")
                if log.name[: -len(".log")] not in finished)
            grids.append(grid)
    return grids


def _has_files(path: Path) -> bool:
    # an empty summary/ (a summary that failed) is no summary
    try:
        return any(p.is_file() for p in path.rglob("*"))
    except OSError:
        return False


def _attach_figures(grid: Grid) -> None:
    # PNGs elsewhere in the grid named after a run (ps_matlab's figures/) go
    # with that run; the rest are shown apart.
    by_name = {run.dir.name: run for run in grid.runs}
    run_dirs = {run.dir for run in grid.runs}
    for sub in _visible_dirs(grid.dir):
        if sub.name == SUMMARY or sub in run_dirs or rundir.is_done(sub):
            continue
        for png in sorted(sub.rglob("*.png")):
            if any(part.startswith(".") for part in png.relative_to(sub).parts):
                continue
            if png.stem in by_name:
                by_name[png.stem].figures.append(png)
            elif not any(p in run_dirs for p in png.parents):
                grid.other_figures.append(png)


def _href(path: Path, root: Path) -> str:
    # the file name's bytes, percent-encoded: right even where they are not UTF-8
    return escape(quote(os.fsencode(path.relative_to(root).as_posix())), quote=True)


def _link(path: Path, root: Path, text: str) -> str:
    return f'<a href="{_href(path, root)}">{escape(text)}</a>'


def _figure(png: Path, root: Path, caption: str, thumb: bool = False) -> str:
    svg = png.with_suffix(".svg")
    target = svg if svg.exists() else png
    cls = "thumb" if thumb else "fig"
    return (f'<figure class="{cls}"><a href="{_href(target, root)}">'
            f'<img loading="lazy" src="{_href(png, root)}" alt="{escape(caption)}">'
            f"</a><figcaption>{escape(caption)}</figcaption></figure>")


def _format(value: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if not math.isfinite(number):
        return value
    if number.is_integer() and abs(number) < 1e9:
        return str(int(number))
    return f"{number:.4g}"


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file (raises ``ValueError`` when unreadable)."""
    try:
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(str(err)) from None
    if not rows:
        raise ValueError("empty file")
    return rows[0], rows[1:]


def _table_html(path: Path, root: Path) -> str:
    try:
        header, rows = read_table(path)
    except ValueError as err:
        return f"<p>{_link(path, root, path.name)}: unreadable ({escape(str(err))})</p>"
    title = f"{_link(path, root, path.name)} ({len(rows)} rows)"
    if len(rows) > MAX_TABLE_ROWS or path.name.startswith("all_"):
        return f"<p>Table {title}</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(_format(v))}</td>" for v in row)
                   + "</tr>" for row in rows)
    return (f"<h5>{title}</h5><div class='scroll'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def _summary_html(grid: Grid, root: Path) -> str:
    summary = grid.dir / SUMMARY
    if not _has_files(summary):
        return "<p class='note'>No summary yet (run the experiment's summarize.py).</p>"
    parts = ["<h4>Summary</h4>"]
    figures = sorted(summary.glob("*.png"))
    if figures:
        parts.append("<div class='figs'>" + "".join(
            _figure(p, root, p.stem) for p in figures) + "</div>")
    tables = sorted(summary.glob("*.csv"))
    best = [t for t in tables if not t.name.startswith("all_")]
    for table in best + [t for t in tables if t.name.startswith("all_")]:
        parts.append(_table_html(table, root))
    others = sorted(p for p in summary.iterdir() if p.is_file()
                    and p.suffix not in (".png", ".svg", ".csv")
                    and not p.name.startswith("."))
    if others:
        parts.append("<p>Other files: " + ", ".join(
            _link(p, root, p.name) for p in others) + "</p>")
    for sub in _visible_dirs(summary):
        pngs = sorted(sub.rglob("*.png"))
        if pngs:
            parts.append(f"<h5>{escape(sub.name)}</h5><div class='gallery'>"
                         + "".join(_figure(p, root, p.stem, thumb=True)
                                   for p in pngs) + "</div>")
    return "".join(parts)


def _run_values(run: Path) -> list[tuple[str, str]]:
    try:
        header, rows = read_table(run / "loss.csv")
    except (ValueError, FileNotFoundError):
        rows = []
    values = dict(zip(header, rows[0], strict=False)) if rows else {}
    if not values.get("process_duration"):
        elapsed = rundir.read_process_time(run)
        if elapsed is not None:
            values["process_duration"] = str(elapsed)
    return [(k, _format(values[k])) for k in RUN_VALUES
            if values.get(k) not in (None, "", "None")]


def _arguments_html(run: Path, problems: list[str]) -> str:
    try:
        record = provenance.load(run)
    except (OSError, ValueError) as err:
        problems.append(f"{run / 'provenance.json'}: {results.describe(err)}")
        return ("<p class='note'>provenance unreadable: "
                f"{escape(results.describe(err))}</p>")
    args = record.get("args") or {}
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>"
                   for k, v in args.items())
    argv = record.get("argv")
    command = f"<pre>{escape(shlex.join(map(str, argv)))}</pre>" if argv else ""
    versions = ", ".join(
        f"{k.replace('_version', '')} {record[k]}" for k in
        ("plenoptic_version", "torch_version", "python_version")
        if record.get(k))
    where = ", ".join(str(record[k]) for k in ("host", "device_name", "repo_commit")
                      if record.get(k))
    return (f"<details><summary>arguments</summary><table class='args'>{rows}"
            f"</table>{command}<p>{escape(versions)}<br>{escape(where)}</p>"
            "</details>")


def _run_html(run: Run, root: Path, problems: list[str]) -> str:
    figures = "".join(_figure(p, root, p.stem, thumb=True) for p in run.figures)
    values = " &middot; ".join(f"{escape(k)} {escape(v)}"
                               for k, v in _run_values(run.dir))
    links = []
    if (run.dir / "provenance.json").exists():
        links.append(_link(run.dir / "provenance.json", root, "provenance"))
    log = paths.run_log(run.dir)
    if log.exists():
        links.append(_link(log, root, "log"))
    for suffix, text in zip(PROFILE_SUFFIXES, ("flame graph", "speedscope"),
                            strict=True):
        profile = run.dir.with_name(run.dir.name + suffix)
        if profile.exists():
            links.append(_link(profile, root, text))
    links.append(_link(run.dir, root, "files"))
    return (f"<div class='run'><h5>{escape(run.dir.name)}</h5>"
            f"<div class='gallery'>{figures or '<p class=note>no figures</p>'}"
            f"</div><p class='values'>{values}</p><p>{' | '.join(links)}</p>"
            f"{_arguments_html(run.dir, problems)}</div>")


def _grid_html(grid: Grid, root: Path, max_runs: int) -> str:
    anchor = escape(f"{grid.experiment}-{grid.name}", quote=True)
    parts = [f"<section id='{anchor}'><h3>{escape(grid.experiment)} / "
             f"{escape(grid.name)}</h3>"]
    note = f"{len(grid.runs)} finished run(s)"
    if grid.unfinished_logs:
        note += (f"; {len(grid.unfinished_logs)} log(s) without a finished run "
                 "(failed, killed or still running): " + ", ".join(
                     _link(log, root, log.stem) for log in grid.unfinished_logs[:20]))
        if len(grid.unfinished_logs) > 20:
            note += ", ..."
    parts.append(f"<p class='note'>{note}</p>")
    parts.append(_summary_html(grid, root))
    if grid.runs:
        shown = grid.runs[:max_runs]
        more = (f" (the first {len(shown)} of {len(grid.runs)}, by name; "
                "--max-runs shows more)" if len(shown) < len(grid.runs) else "")
        parts.append(f"<h4>Runs{more}</h4>")
        parts.append("<div class='runs'>" + "".join(
            _run_html(run, root, grid.problems) for run in shown) + "</div>")
    if grid.other_figures:
        parts.append("<h4>Other figures</h4><div class='gallery'>" + "".join(
            _figure(p, root, p.relative_to(grid.dir).with_suffix("").as_posix(),
                    thumb=True) for p in grid.other_figures) + "</div>")
    parts.append("</section>")
    return "".join(parts)


STYLE = """
body { font-family: sans-serif; margin: 1.5em; max-width: 1360px; color: #222; }
h2 { border-bottom: 2px solid #888; margin-top: 2em; }
h3 { background: #eef; padding: 0.3em; }
figure { display: inline-block; margin: 0.3em; vertical-align: top; }
figure.fig img { max-width: 640px; max-height: 480px; border: 1px solid #ccc; }
figure.thumb img { max-width: 200px; max-height: 150px; border: 1px solid #ddd; }
.runs { display: flex; flex-wrap: wrap; gap: 0.6em; }
figcaption { font-size: 0.8em; color: #555; }
.run { border: 1px solid #ddd; padding: 0.4em; width: 640px; }
.run h5 { margin: 0.2em 0; font-family: monospace; overflow-wrap: anywhere; }
.note { color: #666; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
table.args th { background: #f4f4f4; }
pre { white-space: pre-wrap; font-size: 0.8em; background: #f8f8f8; }
"""


def render(root: Path, max_runs: int = 100) -> tuple[str, list[Grid]]:
    """The page for ``root`` and the grids it shows."""
    grids = find_grids(root)
    experiments: dict[str, list[Grid]] = {}
    for grid in grids:
        experiments.setdefault(grid.experiment, []).append(grid)
    toc = "".join(
        f"<li>{escape(name)}: " + ", ".join(
            f"<a href='#{escape(f'{g.experiment}-{g.name}', quote=True)}'>"
            f"{escape(g.name)}</a> ({len(g.runs)} runs)" for g in items) + "</li>"
        for name, items in experiments.items())
    body = "".join(
        f"<h2>{escape(name)}</h2>"
        + "".join(_grid_html(g, root, max_runs) for g in items)
        for name, items in experiments.items())
    if not grids:
        body = ("<p>No results yet: run an experiment's demo.sh (or make demo) "
                "with this output root.</p>")
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<title>plenoptic experiments: results</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>plenoptic experiments: results</h1>"
        f"<p class='note'>Written {escape(now)} from the output root "
        f"{escape(str(root))}. Click a figure for its SVG; each run links to "
        "its arguments and provenance.</p>"
        f"<ul>{toc}</ul>{body}</body></html>\n")
    return page, grids


def write(root: str | os.PathLike, max_runs: int = 100) -> Path:
    """Write ``<root>/index.html`` (atomically) and return its path."""
    root = Path(root)
    page, grids = render(root, max_runs)
    index = root / INDEX
    tmp = root / f".{INDEX}.tmp-{os.getpid()}"
    # names that are not UTF-8 show escaped (their links are percent-encoded)
    tmp.write_text(page, encoding="utf-8", errors="backslashreplace")
    os.replace(tmp, index)
    results.report([line for grid in grids for line in grid.problems])
    n_runs = sum(len(g.runs) for g in grids)
    print(f"report: {index} ({len(grids)} grid(s), {n_runs} finished run(s))")
    return index


def main() -> None:
    """Command-line entry point."""
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_output_root_argument(parser)
    parser.add_argument("--max-runs", "--max_runs", dest="max_runs",
                        type=cli.positive_int, default=100,
                        help="runs shown per grid (default: 100)")
    args = parser.parse_args()
    root = paths.output_root(args.output_root)
    if not root.is_dir():
        raise cli.UsageError(f"no output root at {root} (run make demo first)")
    write(root, args.max_runs)


if __name__ == "__main__":
    cli.run(main)
