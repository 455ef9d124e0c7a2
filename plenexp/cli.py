"""Command-line conventions shared by every script.

Bad input is reported as one line on standard error with exit status 2, and no
output directory is left behind. A script that skipped bad files (each reported
by path with :func:`note_problems`) finishes its work and exits with status 1.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from plenexp import errors

# scripts raise these through the one module they import
from plenexp.errors import RunFailed, UsageError, check_one_line  # noqa: F401
from plenexp.runs import paths, results
from plenexp.text import breaks_line, number


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                     argparse.RawDescriptionHelpFormatter):
    """Defaults shown after every option's help; docstrings keep their lines."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        # ``is``: a default of 0 or 0.0 is shown (it equals False)
        if "(default" in text or any(action.default is v for v in
                                     (None, False, argparse.SUPPRESS)):
            return text
        return super()._get_help_string(action)


#: Loss names accepted by ``--loss``.
LOSSES = ("l2_norm", "mse", "portilla_simoncelli_loss_factory")


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors fit on one line.

    ``--help`` shows every option's default (write help texts without their
    own "(default: ...)").
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Exit with status 2 and one line naming the problem."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _raise_on_sigterm(signum: int, frame: object) -> None:
    # SIGTERM (SLURM time limits, scancel) unwinds like Ctrl-C, so partial run
    # directories are removed by the context managers that made them. Once:
    # SLURM signals every process of a job and time_process.sh passes the
    # signal on, and a second one must not cut the cleanup short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _importing(frame):
        # unwinding from the middle of an import leaves half-initialised
        # modules that fail again on the way out (numpy: "cannot load module
        # more than once", a traceback and status 1): leave at once instead
        _exit_now(128 + signum)
    raise SystemExit(128 + signum)


def _importing(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _exit_now(status: int) -> None:
    """Remove this process's partial run directories and exit, unwinding nothing."""
    # nothing imported here: an import may be half done
    rundir = sys.modules.get("plenexp.runs.rundir")
    for partial, created in list(getattr(rundir, "LIVE_PARTIALS", {}).items()):
        rundir.shutil.rmtree(partial, ignore_errors=True)
        rundir._remove_empty(created)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


#: ``time_process.sh`` sets this to its own process id: the run it starts
#: is terminated (SIGTERM, so it cleans up) when that parent dies, even by
#: SIGKILL, and never publishes a result its parent no longer reports.
PARENT_PID_ENV = "PLENEXP_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Be sent SIGTERM when the process ``parent`` dies (Linux; else nothing).

    Only when ``parent`` (default: ``$PLENEXP_PARENT_PID``) is this process's
    parent; one that is already gone means SIGTERM now (killed before this
    process got here: it was reparented).
    """
    if parent is None:
        value = os.environ.get(PARENT_PID_ENV, "")
        parent = int(value) if value.isdigit() else None
    if parent is None or not sys.platform.startswith("linux"):
        return
    if os.getppid() != parent:
        from plenexp.runs.rundir import pid_alive

        if not pid_alive(parent):  # our parent, killed already: we were adopted
            os.kill(os.getpid(), signal.SIGTERM)
        return  # else started some other way (a run's own child): not tied
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # died before the request took
        os.kill(os.getpid(), signal.SIGTERM)


def run(main: Callable[[], object]) -> None:
    """Run a script's ``main`` with the shared error handling.

    Parameters
    ----------
    main
        The script body. A :class:`UsageError` it raises becomes one line on
        standard error and exit status 2, as does an error of the output
        location (disk full, read-only, a file in the way); a
        :class:`RunFailed` one line and exit status 1. If the body reported
        skipped files (:func:`note_problems`), the exit status is 1.
    """
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    die_with_parent()
    prog = sys.argv[0].rsplit("/", 1)[-1]
    for stream in (sys.stdout, sys.stderr):
        # a path that is not UTF-8 (bytes from another system) prints escaped
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        main()
    except UsageError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except RunFailed as err:
        print(f"{prog}: failed: {err}", file=sys.stderr)
        sys.exit(1)
    except errors.BadFile as err:  # a file a run should not hold, not caught below
        print(f"{prog}: skipped {err}", file=sys.stderr)
        sys.exit(1)
    except OSError as err:
        if err.errno not in errors.OUTPUT_ERRNOS:
            raise
        where = f": {err.filename}" if err.filename else ""
        print(f"{prog}: error: {err.strerror or err}{where}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    if errors.problem_count():
        sys.exit(1)


def optional_int(text: str) -> int | None:
    """Parse an integer or the word ``None``."""
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer or None, got {text!r}"
        ) from None


def optional_non_negative_int(text: str) -> int | None:
    """Parse an integer >= 0 or the word ``None``."""
    return None if text.lower() == "none" else int_in(text, 0, None,
                                                      "None or an integer")


def one_line_text(text: str) -> str:
    """Parse a value that goes into run names and task lines (``--img``...).

    A line break or other control character would make a run name, a table
    cell or a task line of two lines: refused.
    """
    if breaks_line(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} holds a line break or control character")
    return text


def optional_positive_int(text: str) -> int | None:
    """Parse a strictly positive integer or the word ``None``."""
    return None if text.lower() == "none" else positive_int(text)


def optional_float(text: str) -> float | None:
    """Parse a number or the word ``None``."""
    if text.lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or None, got {text!r}"
        ) from None


def optional_str(text: str) -> str | None:
    """Parse a string, where the word ``None`` means no value."""
    return None if text.lower() == "none" else text


#: Seeds numpy and torch both take: 0 ... 2**32 - 1.
MAX_SEED = 2**32 - 1
#: Most threads a run may ask for.
MAX_THREADS = 1024
#: Largest weight, amplitude or learning rate taken: far beyond any sensible
#: experiment, and far inside what float64 PS statistics and losses hold
#: (noise of amplitude 1e40 or weights of 1e200 overflow them).
MAX_MAGNITUDE = 1e12


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def int_in(text: str, low: int, high: int | None, what: str) -> int:
    """Parse an integer in [``low``, ``high``] (``None``: no upper bound).

    Raises
    ------
    argparse.ArgumentTypeError
        Naming ``what`` was expected and the range, for anything else.
    """
    value = _integer(text)
    if value is None or value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise argparse.ArgumentTypeError(
            f"expected {what} {bounds}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """Parse a strictly positive integer."""
    return int_in(text, 1, None, "a positive integer")


def seed(text: str) -> int:
    """Parse a seed: an integer in [0, 2**32 - 1]."""
    return int_in(text, 0, MAX_SEED, "a seed")


def optional_seed(text: str) -> int | None:
    """Parse a seed or the word ``None``."""
    return None if text.lower() == "none" else seed(text)


def threads(text: str) -> int:
    """Parse a thread count: an integer in [1, :data:`MAX_THREADS`]."""
    return int_in(text, 1, MAX_THREADS, "a thread count")


def positive_float(text: str) -> float:
    """Parse a number in (0, :data:`MAX_MAGNITUDE`]."""
    value = number(text)
    if value is None or not 0 < value <= MAX_MAGNITUDE:
        raise argparse.ArgumentTypeError(
            f"expected a number > 0 and <= {MAX_MAGNITUDE:g}, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """Parse a number in [0, :data:`MAX_MAGNITUDE`]."""
    value = number(text)
    if value is None or not 0 <= value <= MAX_MAGNITUDE:
        raise argparse.ArgumentTypeError(
            f"expected a number >= 0 and <= {MAX_MAGNITUDE:g}, got {text!r}")
    return value


def normalize_device(spec: str | int) -> str:
    """Check a ``--device`` value and give its canonical form.

    ``cpu`` and ``cuda`` are kept; ``cuda:N`` and a bare index ``N`` become
    ``cuda:N`` with ``N`` in plain ASCII digits (``cuda:00`` is ``cuda:0``;
    ``²`` is no index). Availability is checked where the run happens, so
    task writers need not import torch.
    """
    text = str(spec).strip().lower()
    # ASCII digits only: "²".isdigit() is true
    match = re.fullmatch(r"(?:cuda:)?([0-9]{1,4})", text, flags=re.ASCII)
    if match:
        return f"cuda:{int(match[1])}"
    if text in ("cpu", "cuda"):
        return text
    raise UsageError(f"unknown device {spec!r}: expected cpu, cuda, cuda:N or N")


def device(text: str) -> str:
    """Parse ``--device``: ``cpu``, ``cuda``, ``cuda:N`` or ``N`` (canonical form)."""
    try:
        return normalize_device(text)
    except UsageError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def path_text(text: str) -> str:
    """Parse a path given as text: not empty, no line breaks or control characters."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    if breaks_line(text):
        raise argparse.ArgumentTypeError(
            f"path {text!r} holds a line break or control character")
    return text


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--device/-d``: ``cpu``, ``cuda``, ``cuda:N`` or a GPU index."""
    parser.add_argument(
        "--device",
        "-d",
        type=device,
        default="cpu",
        help="cpu, cuda, cuda:N or a bare GPU index N",
    )


def add_run_dir_argument(parser: argparse.ArgumentParser, experiment: str,
                         short: str | None = "-o") -> None:
    """Add ``--output_dir`` (the run directory), one spelling in every script.

    ``--output-dir``, ``--output_path`` and ``-f`` are accepted as aliases;
    ``short`` is ``-o`` unless the experiment's original scripts used ``-o``
    for something else (one experiment uses it for ``--optimizer``).
    """
    flags = ["--output_dir", "--output-dir", "--output_path", "-f"]
    if short:
        flags.append(short)
    parser.add_argument(
        *flags, dest="output_dir", type=path_text, default=None,
        help="run directory; only a finished run or an empty directory there "
        f"is replaced (default: <output-root>/{experiment}/adhoc/<run name>_"
        "<digest of the arguments>)")


def add_output_root_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--output-root``, defaulting to the environment, then ``./outputs``."""
    parser.add_argument(
        "--output-root",
        "--output_root",
        dest="output_root",
        type=path_text,
        default=None,
        help=(
            f"root of all outputs (default: ${paths.OUTPUT_ROOT_ENV} if set, "
            f"else {paths.DEFAULT_OUTPUT_ROOT})"
        ),
    )


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of every per-run ``analyze.py``: which runs, what to rebuild."""
    parser.add_argument("dirs", nargs="+", type=Path,
                        help="run directories, or directories holding runs")
    parser.add_argument("--force", action="store_true",
                        help="rebuild tables and figures that exist too (the "
                        "loss is computed again from the saved metamer)")
    parser.add_argument("--no_plots", "--no-plots", dest="no_plots",
                        action="store_true", help="write the tables only")


def add_summary_arguments(parser: argparse.ArgumentParser, experiment: str,
                          from_csv: bool = False) -> None:
    """Arguments of every ``summarize.py``: which runs, where the summary goes.

    Parameters
    ----------
    parser
        The script's parser.
    experiment
        The experiment's directory name (for the help text).
    from_csv
        Also offer ``--from-csv`` (re-plot an existing ``all_loss.csv``).
    """
    parser.add_argument("--grid", default="quick",
                        help="grid whose runs to gather")
    parser.add_argument("--input_dir", "--input-dir", dest="input_dir", type=Path,
                        default=None, help="gather runs below this directory "
                        f"instead (default: <output-root>/{experiment}/<grid>)")
    if from_csv:
        parser.add_argument("--from-csv", "--from_csv", dest="from_csv", type=Path,
                            default=None, help="re-plot this all_loss.csv "
                            "(needs --output-dir)")
    parser.add_argument("--output-dir", "--output_dir", dest="output_dir",
                        type=Path, default=None,
                        help="where to write (default: <input>/summary)")
    add_output_root_argument(parser)


def summary_dirs(args: argparse.Namespace, experiment: str):
    """Check ``add_summary_arguments``' values; give (input dir, output dir).

    The input directory is ``None`` when re-plotting ``--from-csv``.

    Raises
    ------
    UsageError
        For a missing, empty or unreadable table (:func:`check_table`) or
        runs directory, or ``--from-csv`` without ``--output-dir``.
    """
    table = getattr(args, "from_csv", None)
    if table is not None:
        if not table.is_file():
            raise UsageError(f"no such table: {table}")
        if args.output_dir is None:
            raise UsageError("--from-csv needs --output-dir")
        check_table(table)
        return None, args.output_dir
    input_dir = args.input_dir or paths.grid_dir(
        paths.output_root(args.output_root), experiment, args.grid)
    if not input_dir.is_dir():
        raise UsageError(f"no runs to summarize: {input_dir} does not exist "
                         "(write the task file and run it with disBatch first)")
    return input_dir, args.output_dir or input_dir / "summary"


@contextmanager
def columns_of(table: Path | None) -> Iterator[None]:
    """Turn a column missing from a ``--from-csv`` table into one line.

    ``with columns_of(args.from_csv): summarize(...)``: a ``KeyError`` naming
    a column (another experiment's table, or one of an earlier version)
    becomes a ``UsageError`` naming the table; without a table, nothing.
    """
    try:
        yield
    except KeyError as err:
        if table is None or not err.args or not isinstance(err.args[0], str):
            raise
        raise UsageError(f"--from-csv {table}: no {err.args[0]!r} column (not "
                         "a summary table of this experiment?)") from None


def check_table(path, required: tuple[str, ...] = ()) -> None:
    """Refuse a ``--from-csv`` table that is no summary table, in one line.

    It must be a regular CSV file (``plenexp.runs.files``) with a header, at
    least one data row, rows as long as the header, and the ``required``
    columns.

    Raises
    ------
    UsageError
        Naming the file and what is wrong with it.
    """
    try:
        rows = results.read_rows(path, root="/")
    except (OSError, ValueError, UnicodeError) as err:
        raise UsageError(f"--from-csv {path}: not a readable table "
                         f"({errors.describe(err)})") from None
    if missing := [c for c in required if c not in rows[0]]:
        raise UsageError(f"--from-csv {path}: no {', '.join(missing)} column "
                         "(not a summary table written by summarize.py?)")
