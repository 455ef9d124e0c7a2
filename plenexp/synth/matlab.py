"""Running the original MATLAB textureSynth code under MATLAB or GNU Octave.

The code itself (textureSynth and matlabPyrTools, two public repositories) is
never part of this repository: users point to local copies with
``--texturesynth-dir`` / ``--pyrtools-dir`` or the ``TEXTURESYNTH_DIR`` /
``MATLABPYRTOOLS_DIR`` environment variables. The caller's ``synthesize.m``
(in the script directory it passes as ``script_dir``) analyses the target and
runs ``textureSynthesis``; its MAT file is read back with :func:`read_result`.

textureSynthesis draws two figures every iteration (``figure(n)`` also makes a
figure visible again, so ``DefaultFigureVisible`` alone does not hide them).
Under Octave without a window system the only toolkit is gnuplot, which then
prints every frame as ASCII art into the log, with a 0.1 s pause per frame.
The runner therefore puts ``<script_dir>/nodisplay/`` first on the path: a
no-op ``showIm`` (its return value is unused by textureSynthesis) for both
engines, and for Octave a no-op ``nodisplay/octave/drawnow``. The metamer is
bit-identical with and without them for a given seed; only the drawing time
goes (Octave 7.3, 256x256, one thread: 0.37 s per iteration instead of 0.59 s,
and no ASCII frames in the logs).

Run ``python -m plenexp.synth.matlab`` to check a set-up: one line, exit status 0
when an engine and both code directories are found, 2 otherwise.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plenexp import cli, errors
from plenexp.runs import files, provenance

TEXTURESYNTH_ENV = "TEXTURESYNTH_DIR"
PYRTOOLS_ENV = "MATLABPYRTOOLS_DIR"
TEXTURESYNTH_URL = "https://github.com/LabForComputationalVision/textureSynth"
PYRTOOLS_URL = "https://github.com/LabForComputationalVision/matlabPyrTools"
ENGINES = ("auto", "matlab", "octave")

#: The folder of drawing stubs in a script directory, put first on the
#: MATLAB/Octave path (see the module docstring), and its Octave-only subfolder.
NODISPLAY = "nodisplay"
OCTAVE_NODISPLAY = "octave"

#: The textureSynth parameters of ``synthesize.m``: Nsc, Nor, Na.
N_SCALES, N_ORIENTATIONS, N_AUTOCORR = 4, 4, 9
#: textureSynthesis needs every band, the lowpass at 1/2**Nsc included, to have
#: sides that are multiples of 4.
SIZE_STEP = 4 * 2**N_SCALES

#: Files that identify each code directory.
_MARKERS = {
    "textureSynth": ("textureAnalysis.m", "textureSynthesis.m"),
    "matlabPyrTools": ("buildSCFpyr.m", "pointOp.m"),
}

#: Lines of engine output left out of logs: matlabPyrTools' plain ``.m``
#: fallbacks print a two-line advice on every call, and Octave 7 prints a
#: harmless message while exiting after ``--eval``.
_NOISE_PREFIXES = (
    "WARNING: You should compile the MEX version",
    "found in the MEX subdirectory of matlabPyrTools",
)
_EXIT_NOISE = "error: ignoring const execution_exception& while preparing to exit"
_VERSION_MARKER = "plenexp-engine-version:"
_OCTAVE_QUIET = ("Octave:possible-matlab-short-circuit-operator",
                 "Octave:shadowed-function", "Octave:gnuplot-graphics", "backtrace")


class EngineError(RuntimeError):
    """MATLAB or Octave failed; the message carries the engine's own error."""


@dataclass(frozen=True)
class CodeDirs:
    """Local copies of the two public MATLAB repositories.

    Attributes
    ----------
    texturesynth
        The textureSynth checkout.
    pyrtools
        The matlabPyrTools checkout.
    """

    texturesynth: Path
    pyrtools: Path

    def commits(self) -> dict[str, str | None]:
        """Git commits of both directories (``None`` where not a git checkout)."""
        return {"texturesynth_commit": provenance.git_commit(self.texturesynth),
                "pyrtools_commit": provenance.git_commit(self.pyrtools)}


@dataclass(frozen=True)
class Engine:
    """A MATLAB-language interpreter.

    Attributes
    ----------
    name
        ``matlab`` or ``octave``.
    executable
        Its path.
    """

    name: str
    executable: str

    def command(self, statement: str) -> list[str]:
        """Command line evaluating ``statement`` without any window."""
        if self.name == "matlab":
            return [self.executable, "-batch", statement]
        return [self.executable, "--no-gui", "--no-window-system", "--norc",
                "--quiet", "--eval", statement]


def add_matlab_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--engine``, ``--texturesynth-dir`` and ``--pyrtools-dir``."""
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="matlab (run with -batch), octave, or auto: matlab "
                        "when on PATH, else octave (default: auto)")
    parser.add_argument("--texturesynth-dir", "--texturesynth_dir",
                        dest="texturesynth_dir", default=None,
                        help=f"local copy of {TEXTURESYNTH_URL} (default: "
                        f"${TEXTURESYNTH_ENV})")
    parser.add_argument("--pyrtools-dir", "--pyrtools_dir", dest="pyrtools_dir",
                        default=None,
                        help=f"local copy of {PYRTOOLS_URL} (default: "
                        f"${PYRTOOLS_ENV})")


def _code_dir(value: str | os.PathLike | None, option: str, env: str, name: str,
              url: str) -> Path:
    source = option
    if not value:
        value, source = os.environ.get(env), env
    if not value:
        raise errors.UsageError(
            f"{name} code not found: set {option} or {env} to a local copy of "
            f"{url} (git clone {url})")
    directory = Path(value).expanduser()
    missing = [m for m in _MARKERS[name] if not (directory / m).is_file()]
    if missing:
        what = "does not exist" if not directory.is_dir() else \
            f"has no {', '.join(missing)}"
        raise errors.UsageError(
            f"{source}={value} {what}: it must be a local copy of {url} "
            f"(git clone {url})")
    return directory.resolve()


def resolve_code_dirs(texturesynth_dir: str | os.PathLike | None = None,
                      pyrtools_dir: str | os.PathLike | None = None) -> CodeDirs:
    """Find textureSynth and matlabPyrTools: the options, else the environment.

    Raises
    ------
    UsageError
        Naming what to set and where the public repositories are, when a
        directory is not given or does not hold the expected code.
    """
    return CodeDirs(
        _code_dir(texturesynth_dir, "--texturesynth-dir", TEXTURESYNTH_ENV,
                  "textureSynth", TEXTURESYNTH_URL),
        _code_dir(pyrtools_dir, "--pyrtools-dir", PYRTOOLS_ENV, "matlabPyrTools",
                  PYRTOOLS_URL))


def find_engine(name: str = "auto") -> Engine:
    """The engine to run: ``matlab``, ``octave``, or ``auto`` (MATLAB first).

    Raises
    ------
    UsageError
        When the engine asked for (or, for ``auto``, either) is not on PATH.
    """
    if name not in ENGINES:
        raise errors.UsageError(f"unknown engine {name!r}: expected "
                             f"{', '.join(ENGINES)}")
    install = ("install GNU Octave (apt-get install octave, or conda install "
               "-c conda-forge octave) or put MATLAB's matlab on PATH")
    for candidate in (("matlab", "octave") if name == "auto" else (name,)):
        path = shutil.which(candidate)
        if path:
            return Engine(candidate, path)
    what = "neither matlab nor octave is" if name == "auto" else f"{name} is not"
    raise errors.UsageError(f"{what} on PATH: {install}")


def check_setup(engine: str = "auto", texturesynth_dir=None,
                pyrtools_dir=None) -> tuple[Engine, CodeDirs]:
    """Engine and code directories, or a :class:`UsageError` naming what is missing."""
    dirs = resolve_code_dirs(texturesynth_dir, pyrtools_dir)
    return find_engine(engine), dirs


def check_size(height: int, width: int, what: str = "image") -> None:
    """Raise :class:`UsageError` unless textureSynth (Nsc=4) takes this size."""
    if height % SIZE_STEP or width % SIZE_STEP:
        raise errors.UsageError(
            f"{what} is {height}x{width}; textureSynth with {N_SCALES} scales "
            f"needs height and width divisible by {SIZE_STEP}")


def _quote(text: str | os.PathLike) -> str:
    """A MATLAB single-quoted string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def nodisplay_dirs(engine: Engine, script_dir: str | os.PathLike) -> list[Path]:
    """The drawing stubs of ``script_dir`` for ``engine`` (last: first on path)."""
    stubs = Path(script_dir) / NODISPLAY
    return [stubs, stubs / OCTAVE_NODISPLAY] if engine.name == "octave" else [stubs]


def synthesize_statement(engine: Engine, dirs: CodeDirs, target: Path,
                         init: Path | tuple[int, int], n_iter: int, mat_path: Path,
                         png_path: Path, seed: int | None, *,
                         script_dir: str | os.PathLike) -> str:
    """The MATLAB statement that runs ``script_dir``'s ``synthesize.m`` once.

    ``script_dir`` holds ``synthesize.m`` and its ``nodisplay/`` drawing stubs
    (the calling experiment's folder).
    """
    paths = [dirs.pyrtools, dirs.texturesynth, Path(script_dir),
             *nodisplay_dirs(engine, script_dir)]
    setup = []
    if engine.name == "octave":
        # warnings that would repeat every iteration or concern drawing only
        setup += [f"warning('off', '{w}');" for w in _OCTAVE_QUIET]
    # addpath prepends: the last one added (the drawing stubs) comes first
    setup += [f"addpath({_quote(p)});" for p in paths]
    setup += ["set(0, 'DefaultFigureVisible', 'off');",
              f"fprintf('{_VERSION_MARKER} %s\\n', version);"]
    init_arg = _quote(init) if isinstance(init, Path) else f"[{init[0]} {init[1]}]"
    seed_arg = "[]" if seed is None else str(int(seed))
    call = (f"synthesize({_quote(target)}, {init_arg}, {int(n_iter)}, "
            f"{_quote(mat_path)}, {_quote(png_path)}, {seed_arg});")
    return " ".join([*setup, call])


def _error_message(engine: Engine, lines: Sequence[str]) -> str:
    """The engine's own error text among its output lines."""
    lines = [line for line in lines if line.strip() and _EXIT_NOISE not in line]
    if engine.name == "octave":
        errors = [line.strip() for line in lines if line.startswith("error:")
                  and line.strip() != "error: called from"]
    else:
        start = next((i for i, line in enumerate(lines)
                      if line.lstrip().startswith("Error")), None)
        errors = [] if start is None else [x.strip() for x in lines[start:start + 6]]
    message = " | ".join(errors or [line.strip() for line in lines[-5:]]) or \
        "no error message"
    if any(text in message for text in _DRAW_ERRORS):
        message = f"{message} ({_DRAW_HINT})"
    return message


@dataclass
class EngineRun:
    """What one engine call reported.

    Attributes
    ----------
    version
        The engine's ``version`` string.
    wall_seconds
        Seconds from launching the engine to its exit (start-up included).
    """

    version: str | None
    wall_seconds: float


def run_statement(engine: Engine, statement: str,
                  echo: Callable[[str], None] | None = None) -> EngineRun:
    """Evaluate ``statement``, echoing the engine's output line by line.

    Parameters
    ----------
    engine
        The engine.
    statement
        MATLAB code, as for ``-batch`` / ``--eval``.
    echo
        Where each kept output line goes (default: standard output, flushed).

    Returns
    -------
    run
        The engine version and wall time.

    Raises
    ------
    EngineError
        When the engine exits with an error, carrying its own message.
    """
    def default_echo(line: str) -> None:
        print(line, flush=True)

    echo = echo or default_echo
    start = time.perf_counter()
    lines: list[str] = []
    version, skipped = None, 0
    proc = subprocess.Popen(engine.command(statement), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            text=True, errors="replace")
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            if line.startswith(_VERSION_MARKER):
                version = line[len(_VERSION_MARKER):].strip()
                continue
            if line.strip().startswith(_NOISE_PREFIXES):
                skipped += 1
                continue
            lines.append(line)
            if _EXIT_NOISE not in line:
                echo(line)
        status = proc.wait()
    finally:
        if proc.poll() is None:  # interrupted: do not leave the engine running
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    if skipped:
        echo(f"({skipped} lines of matlabPyrTools' 'compile the MEX version' "
             "advice left out)")
    if status != 0:
        raise EngineError(f"{engine.name} failed (exit status {status}): "
                          f"{_error_message(engine, lines)}")
    return EngineRun(version, time.perf_counter() - start)


def run_synthesize(engine: Engine, dirs: CodeDirs, target: Path,
                   init: Path | tuple[int, int], n_iter: int, mat_path: Path,
                   png_path: Path, seed: int | None = None,
                   echo: Callable[[str], None] | None = None, *,
                   script_dir: str | os.PathLike) -> EngineRun:
    """Run ``script_dir``'s ``synthesize.m`` once and check that it wrote its files.

    Parameters
    ----------
    engine, dirs
        From :func:`find_engine` and :func:`resolve_code_dirs`.
    target
        Grayscale target image file (8-bit, read on the 0-255 scale).
    init
        Initial image file, or ``(height, width)`` for textureSynthesis' own
        Gaussian-noise start.
    n_iter
        textureSynthesis iterations.
    mat_path, png_path
        Where the MAT file (``res``, ``initToc``, ``synthToc``) and the PNG go.
    seed
        Seeds ``rand`` and ``randn`` first (textureAnalysis adds noise to the
        target, the correlation adjustments draw random rotations); ``None``
        leaves the engine's generators as they start.
    echo
        Where the engine's output lines go.
    script_dir
        The caller's folder holding ``synthesize.m`` and ``nodisplay/``.

    Returns
    -------
    run
        The engine version and wall time.

    Raises
    ------
    EngineError
        When MATLAB/Octave fails, with its own message, or writes no result.
    """
    statement = synthesize_statement(engine, dirs, Path(target), init, n_iter,
                                     Path(mat_path), Path(png_path), seed,
                                     script_dir=script_dir)
    run = run_statement(engine, statement, echo)
    for path in (mat_path, png_path):
        if not Path(path).is_file():
            raise EngineError(f"{engine.name} exited without error but wrote no "
                              f"{path}")
    return run


def read_result(mat_path: str | os.PathLike) -> dict:
    """Read a ``synthesize.m`` MAT file.

    Returns
    -------
    result
        ``res`` (2D float64 array, the metamer on the 0-255 scale),
        ``initToc`` and ``synthToc`` (seconds, floats; synthesis alone is
        ``synthToc - initToc``).

    Raises
    ------
    ValueError
        If the file cannot be read or lacks one of the three variables.
    """
    import numpy as np
    import scipy.io

    try:
        raw = scipy.io.loadmat(io.BytesIO(files.read_bytes(mat_path)))
    except (OSError, ValueError, NotImplementedError, TypeError,
            scipy.io.matlab.MatReadError) as err:
        # NotImplementedError: MAT v7.3 (HDF5) files
        raise ValueError(f"{mat_path}: not a readable MAT file ({err})") from None
    missing = [k for k in ("res", "initToc", "synthToc") if k not in raw]
    if missing:
        raise ValueError(f"{mat_path}: no {', '.join(missing)} (not a "
                         "synthesize.m result)")
    res = np.asarray(raw["res"])
    if not (np.issubdtype(res.dtype, np.integer)
            or np.issubdtype(res.dtype, np.floating)):
        raise ValueError(f"{mat_path}: res holds {res.dtype} values, expected "
                         "real gray levels")
    res = res.astype(np.float64)
    if res.ndim != 2 or res.size == 0:
        raise ValueError(f"{mat_path}: res has shape {res.shape}, expected a 2D "
                         "image")
    if not np.isfinite(res).all():
        # a NaN pixel must never make a metamer look perfect: no loss at all
        raise ValueError(f"{mat_path}: res holds non-finite values (NaN or inf)")
    try:
        tocs = {key: float(np.asarray(raw[key], dtype=np.float64).squeeze())
                for key in ("initToc", "synthToc")}
    except (TypeError, ValueError) as err:
        raise ValueError(f"{mat_path}: initToc or synthToc is not a number "
                         f"({err})") from None
    return {"res": res, **tocs}


def engine_version(engine: Engine) -> str | None:
    """Octave's version from ``octave --version`` (fast); ``None`` for MATLAB."""
    if engine.name != "octave":
        return None  # ``matlab -batch version`` takes seconds; runs record it
    try:
        out = subprocess.run([engine.executable, "--version"], capture_output=True,
                             text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.stdout.strip().splitlines()[:1]
    return first[0].rsplit(" ", 1)[-1] if first else None


#: What Octave needs to draw textureSynthesis' figures, when it cannot.
_DRAW_HINT = ("textureSynthesis draws figures, so Octave needs a graphics toolkit "
              "and fonts: apt-get install gnuplot-nox fonts-freefont-otf, which "
              "apt-get install octave brings unless --no-install-recommends")
#: Octave errors that mean it cannot draw (no toolkit; no font for a title).
_DRAW_ERRORS = ("no graphics toolkits are available", "ft_text_renderer",
                "unable to create graphics handle")
_DRAWN_MARKER = "plenexp-drawn"


def check_graphics(engine: Engine) -> None:
    """Raise :class:`UsageError` when Octave cannot draw a titled subplot.

    textureAnalysis and textureSynthesis call ``figure``, ``subplot`` and
    ``title``; an Octave installed without its recommended packages (gnuplot,
    fonts) fails there, after each run has started.
    """
    if engine.name != "octave":
        return
    probe = ("set(0, 'DefaultFigureVisible', 'off'); f = figure; subplot(1, 2, 1); "
             f"title('probe'); close(f); disp('{_DRAWN_MARKER}')")
    try:
        out = subprocess.run([engine.executable, "--no-gui", "--norc", "--quiet",
                              "--eval", probe], capture_output=True, text=True,
                             timeout=120)
    except (OSError, subprocess.SubprocessError):
        return  # the run itself will report what is wrong with the engine
    if _DRAWN_MARKER not in out.stdout:
        lines = (out.stdout + out.stderr).splitlines()
        raise errors.UsageError(f"octave cannot draw: {_error_message(engine, lines)}")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m plenexp.synth.matlab``: check the set-up, in one line."""
    parser = cli.ArgumentParser(
        prog="python -m plenexp.synth.matlab",
        description="Check that MATLAB or Octave and the textureSynth and "
        "matlabPyrTools code are found.")
    add_matlab_arguments(parser)
    args = parser.parse_args(argv)
    engine, dirs = check_setup(args.engine, args.texturesynth_dir, args.pyrtools_dir)
    check_graphics(engine)
    version = engine_version(engine)
    print(f"{engine.name}{' ' + version if version else ''} ({engine.executable}), "
          f"textureSynth {dirs.texturesynth}, matlabPyrTools {dirs.pyrtools}")


if __name__ == "__main__":
    sys.argv[0] = "plenexp.synth.matlab"
    cli.run(main)
