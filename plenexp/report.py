"""One browsable page of every result under an output root: ``index.html``.

Usage: ``python -m plenexp.report [--output-root ROOT] [--max-runs N]``.

Everything is discovered, nothing is named in advance: an experiment is a
directory of the root, a grid one of its directories that holds finished runs
(``done.json``) or a ``summary/``. Each experiment opens with its question (the
first paragraph of its README, linked) and each grid's conclusion
(``summary/conclusion.txt``, else the Pareto or best-method text). Per grid the
page shows the summary figures (click for full size), small summary tables in
full (every CSV linked) and the runs as one table: the arguments that vary
between them, loss, seconds, a thumbnail, and links to the run's figures,
provenance, log and profile; sorted numerically and sortable by clicking a
column heading. All links are relative, so the root can be copied or served as
it is.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from urllib.parse import quote

from plenexp import cli, errors
from plenexp.runs import paths, provenance, results, rundir
from plenexp.text import natural_key, number

INDEX = "index.html"
SUMMARY = "summary"
#: The summary's decision in plain text, first found first (``summarize`` of
#: every experiment writes ``conclusion.txt``; the others are older names).
CONCLUSION_FILES = ("conclusion.txt", "pareto.txt", "best_method.txt")
#: Tables with at most this many rows are shown in full (others only linked).
MAX_TABLE_ROWS = 60
#: A run's loss: the first of these columns its ``loss.csv`` has.
LOSS_COLUMNS = ("loss", "l2_norm")
#: Seconds shown per run: column of ``loss.csv`` and its heading.
SECONDS_COLUMNS = (("synth_duration", "synthesis s"),
                   ("process_duration", "process s"))
#: The figure shown as a run's thumbnail, if it has it.
THUMBNAIL = "metamer.png"
#: Files that belong to a run but are not figures of it.
PROFILE_SUFFIXES = (".profile.svg", ".profile.speedscope.json")


@dataclass
class Run:
    """A finished run, what it recorded and the figures that show it."""

    dir: Path
    figures: list[Path] = field(default_factory=list)
    args: dict | None = None
    row: dict = field(default_factory=dict)


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


def _read_run(run_dir: Path, problems: list[str]) -> Run:
    run = Run(run_dir, sorted(run_dir.glob("*.png")))
    try:
        run.args = dict(provenance.load(run_dir).get("args") or {})
    except (OSError, ValueError) as err:  # shown as unreadable, and reported
        run.args = None
        problems.append(f"{run_dir / 'provenance.json'}: {errors.describe(err)}")
    try:
        run.row = final_row(results.read_rows(run_dir / "loss.csv"))
    except (OSError, ValueError, UnicodeDecodeError):
        run.row = {}
    return run


def final_row(rows: list[dict[str, str]]) -> dict[str, str]:
    """The row of a run's ``loss.csv`` that holds its overall loss.

    Tables of one row per statistic group and loss function (several per run)
    give their ``overall`` L2 row; others their last row.
    """
    overall = [r for r in rows if r.get("loss_type") == "overall"]
    preferred = [r for r in overall if r.get("loss_func") in (None, "l2_norm")]
    return dict((preferred or overall or rows)[-1])


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
                        [_read_run(r, problems) for r in runs], problems=problems)
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
    # PNGs elsewhere in the grid named after a run (e.g. a figures/ folder) go
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


# --------------------------------------------------------------------------
# What the runs of a grid differ in, in numeric order
# --------------------------------------------------------------------------


def _text(value: object) -> str:
    return "None" if value is None else str(value)


def varying_arguments(runs: list[Run]) -> list[str]:
    """Arguments whose values differ between ``runs``, in the scripts' order.

    Arguments that only say where a run goes (``paths.NOT_RESULT_ARGS``) are
    left out.
    """
    names: list[str] = []
    for run in runs:
        for name in run.args or {}:
            if name not in names and name not in paths.NOT_RESULT_ARGS:
                names.append(name)
    recorded = [run.args for run in runs if run.args is not None]
    return [name for name in names
            if len({_text(args.get(name)) for args in recorded}) > 1]


def sort_key(value: object) -> tuple:
    """Numbers in numeric order, then text in natural order (``iter-2 < iter-10``)."""
    return natural_key(_text(value))


def sorted_runs(runs: list[Run], columns: list[str]) -> list[Run]:
    """``runs`` ordered by ``columns`` (numerically), then by name.

    Runs whose arguments are unreadable come last.
    """
    return sorted(runs, key=lambda run: (
        run.args is None, [sort_key((run.args or {}).get(c)) for c in columns],
        sort_key(run.dir.name)))


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------


def _href(path: Path, root: Path) -> str:
    try:
        relative = path.relative_to(root).as_posix()
    except ValueError:  # outside the root, e.g. a README in the checkout
        relative = Path(os.path.relpath(path, root)).as_posix()
    # the name's bytes, percent-encoded: right even where they are not UTF-8
    return escape(quote(os.fsencode(relative)), quote=True)


def _link(path: Path, root: Path, text: str, title: str | None = None) -> str:
    extra = f' title="{escape(title, quote=True)}"' if title else ""
    return f'<a href="{_href(path, root)}"{extra}>{escape(text)}</a>'


def _full_size(png: Path) -> Path:
    svg = png.with_suffix(".svg")
    return svg if svg.exists() else png


def _figure(png: Path, root: Path, caption: str, thumb: bool = False) -> str:
    cls = "thumb" if thumb else "fig"
    return (f'<figure class="{cls}"><a href="{_href(_full_size(png), root)}">'
            f'<img loading="lazy" src="{_href(png, root)}" alt="{escape(caption)}">'
            f"</a><figcaption>{escape(caption)}</figcaption></figure>")


def _format(value: str) -> str:
    value_number = number(value)
    if value_number is None:
        return value
    if value_number.is_integer() and abs(value_number) < 1e9:
        return str(int(value_number))
    return f"{value_number:.4g}"


def _inline_markdown(text: str) -> str:
    """Escape ``text``; render its ``code``, **bold** and *emphasis*."""
    html = escape(" ".join(text.split()))
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", html)
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", html)


def question(readme: Path) -> str | None:
    """The first paragraph of a README after its title (the question it asks)."""
    try:
        lines = readme.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    paragraph: list[str] = []
    for line in lines:
        if line.startswith("#") and not paragraph:
            continue
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line)
    return " ".join(paragraph) or None


def conclusion(grid: Grid) -> Path | None:
    """The file holding the grid's summary conclusion, if it has one."""
    for name in CONCLUSION_FILES:
        path = grid.dir / SUMMARY / name
        if path.is_file():
            return path
    return None


def _experiment_intro(name: str, grids: list[Grid], root: Path) -> str:
    readme = paths.REPO_ROOT / name / "README.md"
    parts = []
    text = question(readme) if readme.is_file() else None
    if text:
        parts.append(f"<p class='question'>{_inline_markdown(text)} "
                     f"({_link(readme, root, 'README')})</p>")
    for grid in grids:
        path = conclusion(grid)
        if path is None:
            continue
        try:
            said = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as err:
            said = f"unreadable ({err})"
        parts.append(
            f"<div class='conclusion'><strong>{escape(grid.name)}</strong> "
            f"({_link(path, root, path.name)}):<p>{escape(said)}</p></div>")
    return "".join(parts)


def _table_html(path: Path, root: Path) -> str:
    try:
        rows = results.read_rows(path)
    except (OSError, ValueError, UnicodeDecodeError) as err:
        return f"<p>{_link(path, root, path.name)}: unreadable ({escape(str(err))})</p>"
    title = f"{_link(path, root, path.name)} ({len(rows)} rows)"
    if len(rows) > MAX_TABLE_ROWS or path.name.startswith("all_"):
        return f"<p>Table {title}</p>"
    header = list(rows[0])
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(_format(row[h]))}</td>"
                                    for h in header) + "</tr>" for row in rows)
    return (f"<h5>{title}</h5><div class='scroll'><table class='sortable'><thead>"
            f"<tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


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
    small = [t for t in tables if not t.name.startswith("all_")]
    for table in small + [t for t in tables if t.name.startswith("all_")]:
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


def _cell(value: object, shown: str | None = None) -> str:
    key = sort_key(value)
    data = repr(key[1]) if key[0] == 0 else _text(value)
    return (f'<td data-v="{escape(data, quote=True)}">'
            f"{shown if shown is not None else escape(_format(_text(value)))}</td>")


def _run_row(run: Run, columns: list[str], loss_column: str | None,
             root: Path) -> str:
    cells = []
    for name in columns:
        value = (run.args or {}).get(name, "") if run.args is not None else ""
        cells.append(_cell(value))
    for column in ([loss_column] if loss_column else []) + [
            c for c, _ in SECONDS_COLUMNS]:
        cells.append(_cell(run.row.get(column, "")))
    thumb = run.dir / THUMBNAIL
    if not thumb.exists() and run.figures:
        thumb = run.figures[0]
    cells.append("<td>" + (
        f'<a href="{_href(thumb, root)}"><img class="thumb" loading="lazy" '
        f'src="{_href(thumb, root)}" alt="{escape(thumb.stem)}"></a>'
        if thumb.exists() else "") + "</td>")
    links = [_link(_full_size(p), root, p.stem) for p in run.figures
             if p != thumb]
    if run.args is None:
        links.append("<span class='note'>provenance unreadable</span>")
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
    links.append(_link(run.dir, root, "files", title=run.dir.name))
    cells.append(f"<td class='links'>{' &middot; '.join(links)}</td>")
    return "<tr>" + "".join(cells) + "</tr>"


def _runs_html(grid: Grid, root: Path, max_runs: int) -> str:
    columns = varying_arguments(grid.runs)
    runs = sorted_runs(grid.runs, columns)
    shown = runs[:max_runs]
    more = (f" (the first {len(shown)} of {len(runs)}; --max-runs shows more)"
            if len(shown) < len(runs) else "")
    loss_column = next((c for c in LOSS_COLUMNS
                        if any(c in run.row for run in runs)), None)
    headings = [*columns, *([loss_column] if loss_column else []),
                *(label for _, label in SECONDS_COLUMNS)]
    head = "".join(f"<th title='click to sort'>{escape(h)}</th>" for h in headings)
    head += "<th>image</th><th>links</th>"
    body = "".join(_run_row(run, columns, loss_column, root) for run in shown)
    varying = (", ".join(columns) if columns
               else "nothing: the runs share every argument")
    return (f"<h4>Runs{more}</h4><p class='note'>Arguments that vary: "
            f"{escape(varying)}. Click a column heading to sort.</p>"
            f"<div class='scroll'><table class='sortable runs'><thead><tr>{head}"
            f"</tr></thead><tbody>{body}</tbody></table></div>")


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
        parts.append(_runs_html(grid, root, max_runs))
    if grid.other_figures:
        parts.append("<h4>Other figures</h4><div class='gallery'>" + "".join(
            _figure(p, root, p.relative_to(grid.dir).with_suffix("").as_posix(),
                    thumb=True) for p in grid.other_figures) + "</div>")
    parts.append("</section>")
    return "".join(parts)


STYLE = """
body { font-family: sans-serif; margin: 0.8em; max-width: 1400px; color: #222;
       line-height: 1.35; }
h2 { border-bottom: 2px solid #888; margin-top: 2em; }
h3 { background: #eef; padding: 0.3em; overflow-wrap: anywhere; }
.question { font-size: 1.05em; max-width: 60em; }
.conclusion { border-left: 4px solid #6a6; padding: 0.1em 0.6em; margin: 0.6em 0;
              background: #f6fbf6; }
.conclusion p { margin: 0.3em 0; white-space: pre-line; }
figure { display: inline-block; margin: 0.3em; vertical-align: top; }
figure.fig { display: block; margin: 0.6em 0; }
figure.fig img { max-width: min(100%, 1100px); height: auto;
                 border: 1px solid #ccc; }  /* never enlarged: fonts as drawn */
figure.thumb img { max-width: 200px; max-height: 150px; border: 1px solid #ddd; }
figcaption { font-size: 0.8em; color: #555; }
.note { color: #666; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left;
         vertical-align: middle; }
th { background: #f4f4f4; white-space: nowrap; }
table.sortable th { cursor: pointer; }
table.sortable th[data-dir=asc]::after { content: " \\25B2"; }
table.sortable th[data-dir=desc]::after { content: " \\25BC"; }
table.runs td { white-space: nowrap; }
table.runs td.links { white-space: normal; min-width: 12em; font-size: 0.9em; }
img.thumb { height: 56px; width: auto; display: block; }
pre { white-space: pre-wrap; font-size: 0.85em; background: #f8f8f8; }
code { background: #f2f2f2; padding: 0 2px; }
@media (max-width: 600px) { body { margin: 0.4em; } h1 { font-size: 1.4em; } }
"""

#: Click a heading to sort its table: numbers numerically, text naturally.
SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], i = th.cellIndex;
    var asc = th.dataset.dir !== "asc";
    table.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = asc ? "asc" : "desc";
    function key(row) {
      var td = row.cells[i]; var v = td.dataset.v;
      return v === undefined ? td.textContent.trim() : v;
    }
    function num(v) { return v === "" ? NaN : Number(v); }
    function cmp(a, b) {
      var x = num(a), y = num(b);
      if (!isNaN(x) && !isNaN(y)) return x - y;
      if (!isNaN(x)) return -1;
      if (!isNaN(y)) return 1;
      return a.localeCompare(b, undefined, {numeric: true});
    }
    Array.from(body.rows)
      .sort(function (r, s) { return (asc ? 1 : -1) * cmp(key(r), key(s)); })
      .forEach(function (row) { body.appendChild(row); });
  });
});
"""


def render(root: Path, max_runs: int = 1000) -> tuple[str, list[Grid]]:
    """The page for ``root`` and the grids it shows."""
    grids = find_grids(root)
    experiments: dict[str, list[Grid]] = {}
    for grid in grids:
        experiments.setdefault(grid.experiment, []).append(grid)
    toc = "".join(
        f"<li><a href='#{escape(name, quote=True)}'>{escape(name)}</a>: "
        + ", ".join(
            f"<a href='#{escape(f'{g.experiment}-{g.name}', quote=True)}'>"
            f"{escape(g.name)}</a> ({len(g.runs)} runs)" for g in items) + "</li>"
        for name, items in experiments.items())
    body = "".join(
        f"<h2 id='{escape(name, quote=True)}'>{escape(name)}</h2>"
        + _experiment_intro(name, items, root)
        + "".join(_grid_html(g, root, max_runs) for g in items)
        for name, items in experiments.items())
    if not grids:
        body = ("<p>No results yet: run an experiment's demo.sh (or make demo) "
                "with this output root.</p>")
    now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>plenoptic experiments: results</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>plenoptic experiments: results</h1>"
        f"<p class='note'>Written {escape(now)} from the output root "
        f"{escape(str(root))}. Click a figure for its full size (SVG where "
        "there is one), a column heading to sort a table.</p>"
        f"<ul>{toc}</ul>{body}<script>{SCRIPT}</script></body></html>\n")
    return page, grids


def write(root: str | os.PathLike, max_runs: int = 1000) -> Path:
    """Write ``<root>/index.html`` (atomically) and return its path."""
    root = Path(root)
    page, grids = render(root, max_runs)
    index = root / INDEX
    with rundir.atomic_path(index) as tmp:
        # names that are not UTF-8 show escaped (their links are percent-encoded)
        tmp.write_text(page, encoding="utf-8", errors="backslashreplace")
    errors.report([line for grid in grids for line in grid.problems])
    n_runs = sum(len(g.runs) for g in grids)
    print(f"report: {index} ({len(grids)} grid(s), {n_runs} finished run(s))")
    return index


def main() -> None:
    """Command-line entry point."""
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_output_root_argument(parser)
    parser.add_argument("--max-runs", "--max_runs", dest="max_runs",
                        type=cli.positive_int, default=1000,
                        help="runs listed per grid")
    args = parser.parse_args()
    root = paths.output_root(args.output_root)
    if not root.is_dir():
        raise errors.UsageError(f"no output root at {root} (run make demo first)")
    write(root, args.max_runs)


if __name__ == "__main__":
    cli.run(main)
