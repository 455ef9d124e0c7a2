"""Command-line conventions shared by every script.

Bad input is reported as one line on standard error with exit status 2, and no
output directory is left behind.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

from . import paths


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


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


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
    # directories are removed by the context managers that made them.
    raise SystemExit(128 + signum)


def run(main: Callable[[], object]) -> None:
    """Run a script's ``main`` with the shared error handling.

    Parameters
    ----------
    main
        The script body. A :class:`UsageError` it raises becomes one line on
        standard error and exit status 2.
    """
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    prog = sys.argv[0].rsplit("/", 1)[-1]
    try:
        main()
    except UsageError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


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


def positive_int(text: str) -> int:
    """Parse a strictly positive integer."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def normalize_device(spec: str | int) -> str:
    """Check a ``--device`` value and give its canonical form.

    ``cpu``, ``cuda`` and ``cuda:N`` are kept; a bare index ``N`` becomes
    ``cuda:N``. Availability is checked where the run happens, so task writers
    need not import torch.
    """
    text = str(spec).strip().lower()
    if text.isdigit():
        return f"cuda:{text}"
    if text in ("cpu", "cuda") or re.fullmatch(r"cuda:\d+", text):
        return text
    raise UsageError(f"unknown device {spec!r}: expected cpu, cuda, cuda:N or N")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--device/-d``: ``cpu``, ``cuda``, ``cuda:N`` or a GPU index."""
    parser.add_argument(
        "--device",
        "-d",
        default="cpu",
        help="cpu, cuda, cuda:N or a bare GPU index N",
    )


def add_run_dir_argument(parser: argparse.ArgumentParser, experiment: str,
                         short: str | None = "-o") -> None:
    """Add ``--output_dir`` (the run directory), one spelling in every script.

    ``--output-dir``, ``--output_path`` and ``-f`` are accepted as aliases;
    ``short`` is ``-o`` unless the experiment's original scripts used ``-o``
    for something else (ps_matlab_vs_plen: ``--optimizer``).
    """
    flags = ["--output_dir", "--output-dir", "--output_path", "-f"]
    if short:
        flags.append(short)
    parser.add_argument(
        *flags, dest="output_dir", default=None,
        help="run directory; only a finished run or an empty directory there "
        f"is replaced (default: <output-root>/{experiment}/adhoc/<run name>_"
        "<digest of the arguments>)")


def add_output_root_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--output-root``, defaulting to the environment, then ``./outputs``."""
    parser.add_argument(
        "--output-root",
        "--output_root",
        dest="output_root",
        default=None,
        help=(
            f"root of all outputs (default: ${paths.OUTPUT_ROOT_ENV} if set, "
            f"else {paths.DEFAULT_OUTPUT_ROOT})"
        ),
    )


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
    from pathlib import Path

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
        For a missing table or runs directory, or ``--from-csv`` without
        ``--output-dir``.
    """
    table = getattr(args, "from_csv", None)
    if table is not None:
        if not table.is_file():
            raise UsageError(f"no such table: {table}")
        if args.output_dir is None:
            raise UsageError("--from-csv needs --output-dir")
        return None, args.output_dir
    input_dir = args.input_dir or paths.grid_dir(
        paths.output_root(args.output_root), experiment, args.grid)
    if not input_dir.is_dir():
        raise UsageError(f"no runs to summarize: {input_dir} does not exist "
                         "(write the task file and run it with disBatch first)")
    return input_dir, args.output_dir or input_dir / "summary"
