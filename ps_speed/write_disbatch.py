"""Write the task file of one ps_speed grid, making the installations first.

One task per component, dtype and image size; it times every installation,
their repeats alternated in rounds (``synthesize.py``).

``--plenoptic NAME=SPEC`` (repeatable; the first is the baseline A, every
other one is compared with it) names the installations: SPEC is a released
version (``2.1.0``), a local plenoptic checkout, an existing python (a
virtual environment's ``bin/python`` or its folder), or ``current`` (the python
running this writer). Versions and checkouts get a virtual environment under
``<output-root>/ps_speed/venvs/``, made here once (before any task runs, under
a lock, published by one rename) and reused by later writers. Without
``--plenoptic`` a grid compares its own default installations.

Grids: smoke (seconds: the running python twice, 64 x 64, two components),
quick (the running plenoptic against itself and against 2.1.0, CPU, 128 and
256; the pyramid, the PS statistics and forward pass; Adam and LBFGS history 3
syntheses at 128 only), full (every component, float32
and float64, 256 and 512; write it once with ``--device cpu`` and once with
``--device cuda``).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from plenexp import cli
from plenexp.cluster import cost, tasks
from plenexp.cluster.tasks import Task
from plenexp.errors import UsageError

EXPERIMENT = "ps_speed"

# The grids, as sweeps. Installations are (name, spec); the first is baseline A.
# ``sizes_of``: components timed at other sizes than ``sizes``.
SMOKE = dict(installs=[("A", "current"), ("B", "current")], sizes=[64],
             dtypes=["float32"], components=["ps_forward", "synth_adam"],
             repeats=6, warmup=1, synth_repeats=5, synth_warmup=0)
QUICK = dict(installs=[("installed", "current"), ("installed_again", "current"),
                       ("v2.1.0", "2.1.0")],
             sizes=[128, 256], dtypes=["float32"],
             components=["pyr_forward", "ps_coeffs", "ps_forward", "synth_adam",
                         "synth_lbfgs_h3"],
             sizes_of={"synth_adam": [128], "synth_lbfgs_h3": [128]},
             repeats=12, warmup=2, synth_repeats=3, synth_warmup=0)
FULL = dict(installs=QUICK["installs"], sizes=[256, 512],
            dtypes=["float32", "float64"],
            components=["pyr_forward", "pyr_recon", "pyr_to_tensor",
                        "tensor_to_pyr", "ps_coeffs", "lowpass_recon",
                        "ps_forward", "synth_adam", "synth_lbfgs_h3",
                        "synth_lbfgs_h100", "synth_lbfgs_h300"],
             repeats=20, warmup=3, synth_repeats=3, synth_warmup=1)

#: Model evaluations (PS forward + backward) one call of a component costs,
#: roughly; syntheses: per optimizer step (LBFGS: ``cost.lbfgs_evaluations``).
EVALS_PER_CALL = {"pyr_forward": 0.15, "pyr_recon": 0.15, "pyr_to_tensor": 0.02,
                  "tensor_to_pyr": 0.02, "ps_coeffs": 0.15, "lowpass_recon": 0.3,
                  "ps_forward": 0.5}
SYNTH_STEPS, LBFGS_MAX_ITER = 10, 10
#: A timed repeat lasts at least this long (``run.MIN_REPEAT_S``).
MIN_REPEAT_S = 0.02
#: Where the installations' environments go, under the experiment's output.
VENVS = "venvs"
INSTALLED = "installed.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
_VERSION = re.compile(r"v?(\d+)(\.\d+)*([.-]?(a|b|rc|post|dev)\d*)*")


# ------------------------------------------------------------ installations

@dataclass(frozen=True)
class Install:
    """One plenoptic installation: its name, the spec given, its python."""

    name: str
    spec: str
    python: str


def install_spec(text: str) -> tuple[str, str]:
    """Parse ``NAME=SPEC`` (argparse type)."""
    import argparse

    name, sep, spec = text.partition("=")
    if not sep or not spec.strip() or not _NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(
            f"expected NAME=SPEC (NAME of letters, digits, _.+-), got {text!r}")
    return name, spec.strip()


def _is_checkout(path: Path) -> bool:
    for name in ("pyproject.toml", "setup.py", "setup.cfg"):
        try:
            if re.search(r"""name\s*=\s*["']plenoptic["']""",
                         (path / name).read_text(errors="replace")):
                return True
        except OSError:
            continue
    return False


def _git(path: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(path), *args], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def classify(name: str, spec: str) -> tuple[str, str]:
    """What a spec is, without writing anything: ``(kind, value)``.

    Kinds: ``python`` (an interpreter to use as it is), ``version`` (a
    registry release), ``checkout`` (a local source tree).

    Raises
    ------
    UsageError
        For plenoptic 1.x (another API) or a spec that is none of these.
    """
    if spec == "current":
        return "python", sys.executable
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "bin" / "python").is_file():
        return "python", str((path / "bin" / "python").absolute())
    if path.is_file():
        if not os.access(path, os.X_OK):
            raise UsageError(f"--plenoptic {name}={spec}: {spec} is a file but not "
                             "an executable python")
        return "python", str(path.absolute())
    if path.is_dir():
        if _is_checkout(path):
            return "checkout", str(path.resolve())
        raise UsageError(f"--plenoptic {name}={spec}: {spec} is a directory but "
                         "neither a plenoptic checkout (pyproject.toml naming "
                         "plenoptic) nor a virtual environment (bin/python)")
    match = _VERSION.fullmatch(spec)
    if match:
        if int(match[1]) < 2:
            raise UsageError(f"--plenoptic {name}={spec}: plenoptic {spec} has the "
                             "1.x API (po.simul, po.synth), which ps_speed does not "
                             "time; give 2.0.0 or later")
        return "version", spec.lstrip("v")
    raise UsageError(f"--plenoptic {name}={spec}: not a plenoptic version (2.1.0), "
                     "a plenoptic checkout, a python interpreter or 'current' "
                     "(no such file or directory)")


@functools.cache
def probe(python: str) -> dict:
    """Run the worker's ``--probe`` in ``python``.

    Raises
    ------
    UsageError
        If that python cannot import torch and plenoptic.
    """
    worker = Path(__file__).resolve().with_name("run.py")
    try:
        done = subprocess.run([python, "-I", str(worker), "--probe"],
                              capture_output=True, text=True, timeout=300)
    except OSError as err:
        raise UsageError(f"cannot run {python}: {err.strerror or err}") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"{python} is not a python with torch and plenoptic "
                         f"({last})")
    return json.loads(lines[-1])


def _torch_pin() -> str:
    from importlib import metadata

    return f"torch=={metadata.version('torch')}"


def _pip_failure(requirement: str, output: str) -> str:
    versions = re.search(r"from versions: ([^)]*)\)", output)
    if "No matching distribution" in output or versions:
        there = versions[1].strip() if versions else "none"
        return (f"{requirement} is not available: pip tried the package "
                f"registry and found versions {there}")
    last = [line for line in output.strip().splitlines() if line.strip()]
    return f"pip could not install {requirement}: {last[-1] if last else 'failed'}"


def venv_key(kind: str, value: str) -> str:
    """Directory name of the environment of a version or a checkout's state.

    A checkout's key changes with its commit and uncommitted changes, so an
    edited checkout gets a new environment rather than a stale one.
    """
    if kind == "version":
        return f"plenoptic-{value}"
    path = Path(value)
    state = "\n".join([value, _git(path, "rev-parse", "HEAD"),
                       _git(path, "status", "--porcelain"), _git(path, "diff")])
    digest = hashlib.sha1(state.encode()).hexdigest()[:10]
    return f"checkout-{tasks.safe_name(path.name)}-{digest}"


def ensure_venv(venvs: Path, kind: str, value: str) -> tuple[Path, bool]:
    """The environment of a version or checkout, made if missing.

    Made once: under an exclusive lock, in a hidden directory renamed into
    place when complete (``installed.json`` written last), so concurrent
    writers wait for one another and a killed install is never used.

    The environment has no pip and no packages of its own besides plenoptic:
    a ``.pth`` file gives it this interpreter's site-packages (torch, numpy,
    ...), its own site-packages comes first, and pip (this interpreter's, run
    with ``--python``) installs plenoptic only, with torch pinned to this
    interpreter's version. A plenoptic that needs other versions of its
    dependencies gets them in its own site-packages.

    Returns
    -------
    venv, created
        The environment, and whether this call made it.

    Raises
    ------
    UsageError
        If pip cannot install it (one line: what was tried).
    """
    final = venvs / venv_key(kind, value)
    if (final / INSTALLED).is_file():
        return final, False
    venvs.mkdir(parents=True, exist_ok=True)
    lock = venvs / f".{final.name}.lock"
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if (final / INSTALLED).is_file():
                return final, False
            shutil.rmtree(final, ignore_errors=True)  # an earlier killed attempt
            tmp = venvs / f".{final.name}.partial-{os.getpid()}"
            try:
                _install(tmp, kind, value, final)
                os.replace(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            lock.unlink(missing_ok=True)
    return final, True


def _install(tmp: Path, kind: str, value: str, final: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp)],
                   check=True, capture_output=True)
    python = tmp / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print("
                           "sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"],
                           sysconfig.get_paths()["platlib"]])
    Path(site, "_ps_speed_base.pth").write_text("".join(p + "\n" for p in paths))
    (tmp / "constraints.txt").write_text(_torch_pin() + "\n")
    requirement = f"plenoptic=={value}" if kind == "version" else value
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    done = subprocess.run([*pip, "install", "--no-input", "-c",
                           str(tmp / "constraints.txt"), requirement],
                          capture_output=True, text=True)
    if done.returncode:
        raise UsageError(_pip_failure(requirement, done.stdout + done.stderr))
    freeze = subprocess.run([*pip, "freeze"], capture_output=True, text=True)
    found = {k: v.replace(str(tmp), str(final)) if isinstance(v, str) else v
             for k, v in probe(str(python)).items()}  # where it will be
    record = {"kind": kind, "spec": value, **found,
              "pip_freeze": freeze.stdout.splitlines()}
    if kind == "checkout":
        record["checkout_commit"] = _git(Path(value), "rev-parse", "HEAD") or None
        record["checkout_dirty"] = bool(_git(Path(value), "status", "--porcelain"))
        record["plenoptic_commit"] = record["checkout_commit"]
    (tmp / INSTALLED).write_text(json.dumps(record, indent=2) + "\n")


def installations(root: Path, specs) -> list[Install]:
    """Every installation of ``specs``, environments made where needed.

    Every spec is checked before anything is written; if an install fails,
    the environments this call made and the folders it created are removed.
    """
    kinds = [(name, spec, *classify(name, spec)) for name, spec in specs]
    venvs = Path(root) / EXPERIMENT / VENVS
    created_dirs = [p for p in (venvs, venvs.parent, Path(root)) if not p.exists()]
    made, result = [], []
    try:
        for name, spec, kind, value in kinds:
            if kind == "python":
                probe(value)
                result.append(Install(name, spec, value))
                continue
            venv, created = ensure_venv(venvs, kind, value)
            if created:
                made.append(venv)
            result.append(Install(name, spec, str(venv / "bin" / "python")))
    except BaseException:
        for venv in made:
            shutil.rmtree(venv, ignore_errors=True)
        for directory in created_dirs:
            try:
                directory.rmdir()
            except OSError:
                break
        raise
    return result


# ------------------------------------------------------------ grids

def task_seconds(component: str, size: int, device: str, repeats: int,
                 warmup: int, installs: int = 1) -> float:
    """Estimated seconds of one task: the interpreters' start-up and the calls."""
    if component.startswith("synth_"):
        per_step = (cost.lbfgs_evaluations(1, LBFGS_MAX_ITER, LBFGS_MAX_ITER)
                    if "lbfgs" in component else 1.0)
        evaluations = installs * ((warmup + repeats) * SYNTH_STEPS * per_step + 2)
        return cost.plenoptic_seconds(evaluations, (size, size), device) \
            + cost.STARTUP["python"]
    # both passes (forward about a third of forward + backward)
    evaluations = installs * (warmup + repeats) * 1.33 * EVALS_PER_CALL[component]
    return (cost.plenoptic_seconds(evaluations, (size, size), device)
            + cost.STARTUP["python"] + 2 * installs * repeats * MIN_REPEAT_S)


#: Installations chosen with ``--plenoptic`` (set by :func:`main`).
CHOSEN: list[tuple[str, str]] = []
#: ``--repeats`` and ``--warmup`` given to the writer (set by :func:`main`).
OVERRIDES: dict[str, int] = {}


def sweep(grid: dict, root, device: str) -> list[Task]:
    """One task per dtype x size x component of ``grid``: every installation in it.

    The task's repeats alternate between the installations in rounds
    (``synthesize.py``), so a load that comes and goes hits them alike.
    """
    result = []
    chosen = installations(root, CHOSEN or grid["installs"])
    specs = [arg for install in chosen
             for arg in ("--install", f"{install.name}={install.python}")]
    for dtype in grid["dtypes"]:
        for component in grid["components"]:
            for size in grid.get("sizes_of", {}).get(component, grid["sizes"]):
                synth = component.startswith("synth_")
                repeats = OVERRIDES.get("repeats", grid["synth_repeats" if synth
                                                        else "repeats"])
                warmup = OVERRIDES.get("warmup", grid["synth_warmup" if synth
                                                      else "warmup"])
                if not synth:
                    warmup = max(1, warmup)
                argv = (*specs, "--component", component, "--size", str(size),
                        "--dtype", dtype, "--repeats", str(repeats),
                        "--warmup", str(warmup), "--seed", "0", "--no_plots")
                result.append(Task(
                    f"{component}_{dtype}_size-{size}", argv,
                    seconds=task_seconds(component, size, device, repeats,
                                         warmup, len(chosen))))
    return result


GRIDS = {
    "smoke": lambda root, device: sweep(SMOKE, root, device),
    "quick": lambda root, device: sweep(QUICK, root, device),
    "full": lambda root, device: sweep(FULL, root, device),
}


def add_plenoptic_argument(parser) -> None:
    """``--plenoptic NAME=SPEC`` (repeatable), ``--repeats``, ``--warmup``."""
    parser.add_argument("--repeats", type=cli.positive_int, default=None,
                        help="timed rounds of every task (default: the grid's)")
    parser.add_argument("--warmup", type=cli.optional_int, default=None,
                        help="untimed calls first (default: the grid's; "
                        "components: at least one)")
    parser.add_argument("--plenoptic", action="append", type=install_spec,
                        default=None, metavar="NAME=SPEC",
                        help="an installation to time: SPEC is a version (2.1.0), "
                        "a plenoptic checkout, a python, a virtual environment or "
                        "'current'; repeat it; the first is the baseline (default: "
                        "the grid's own)")


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not {"-h", "--help"} & set(argv):
        pre = cli.ArgumentParser(add_help=False)
        add_plenoptic_argument(pre)
        known = pre.parse_known_args(argv)[0]
        chosen = known.plenoptic or []
        OVERRIDES.clear()
        OVERRIDES.update({k: v for k, v in (("repeats", known.repeats),
                                            ("warmup", known.warmup))
                          if v is not None})
        names = [name for name, _ in chosen]
        if len(set(names)) < len(names):
            raise UsageError(f"--plenoptic names must differ, got {names}")
        if len(chosen) == 1:
            raise UsageError("one --plenoptic is nothing to compare: give two or "
                             "more (the same spec twice is the control)")
        CHOSEN[:] = chosen
    # timing tasks side by side disturb each other's clocks
    tasks.write_disbatch(EXPERIMENT, GRIDS, description=__doc__, argv=argv,
                         extra_arguments=add_plenoptic_argument, one_at_a_time=True)


if __name__ == "__main__":
    cli.run(main)
