"""One ps_speed run: time one plenoptic component inside each installation.

This file is two things. Run as a script by an installation's own python
(``VENV/bin/python -I ps_speed/run.py ...``) it is the *worker*: it imports
only the standard library, torch and that installation's plenoptic (the
installation may not have plenexp), times one component and answers in JSON
lines. Imported by the harness (``synthesize.py``, ``analyze.py``,
``summarize.py``) it gives the contract's pieces: :func:`load_target`,
:func:`build`, :func:`run_name`, :func:`loss_rows`, :func:`load_run`.

Timing protocol: ``warmup`` untimed calls (:func:`warm_up`), then the worker
waits; each line the harness sends times one repeat (:func:`time_repeat`):
``inner`` calls (chosen in the warm-up so that a repeat lasts at least
:data:`MIN_REPEAT_S`), seconds per call answered. The harness sends them to
the installations in alternating order, so drift hits every one alike.
The GPU is synchronized (``torch.cuda.synchronize``) before every clock
reading. Components are timed forward (under ``torch.no_grad``)
and forward + backward (the sum of every output, real and imaginary parts,
back-propagated to the input); syntheses are timed whole.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

EXPERIMENT = "ps_speed"

#: Component -> (what is timed, private attribute timed or None).
COMPONENTS = {
    "pyr_forward": ("SteerablePyramidFreq.forward (public)", None),
    "pyr_recon": ("SteerablePyramidFreq.recon_pyr (public)", None),
    "pyr_to_tensor": ("SteerablePyramidFreq.convert_pyr_to_tensor (public)", None),
    "tensor_to_pyr": ("SteerablePyramidFreq.convert_tensor_to_pyr (public)", None),
    "ps_coeffs": ("PS pyramid coefficients", "PortillaSimoncelli._compute_pyr_coeffs"),
    "lowpass_recon": ("PS lowpass reconstruction at each scale",
                      "PortillaSimoncelli._reconstruct_lowpass_at_each_scale"),
    "ps_forward": ("PortillaSimoncelli.forward (public)", None),
    "synth_adam": ("Metamer.synthesize, Adam lr 0.01 (public)", None),
    "synth_lbfgs_h3": ("Metamer.synthesize, LBFGS history 3 (public)", None),
    "synth_lbfgs_h100": ("Metamer.synthesize, LBFGS history 100 (public)", None),
    "synth_lbfgs_h300": ("Metamer.synthesize, LBFGS history 300 (public)", None),
}
#: Synthesis components: timed whole, their metamers compared across installations.
SYNTHESES = tuple(c for c in COMPONENTS if c.startswith("synth_"))
#: Optimizer steps of every timed synthesis; LBFGS steps of at most this many
#: evaluations each (``max_iter`` = ``max_eval`` = 10, strong Wolfe).
SYNTH_STEPS, LBFGS_MAX_ITER, ADAM_LR = 10, 10, 0.01
PASSES = ("forward", "forward_backward")
DTYPES = ("float32", "float64")
#: A timed repeat lasts at least this long (seconds): short calls are looped.
MIN_REPEAT_S = 0.02
MAX_INNER = 1000
#: PS model and pyramid settings: plenoptic's defaults, with fewer scales for
#: small images (the coarsest band keeps at least 8 x 8 pixels: 3 scales at 64).
N_SCALES, N_ORIENTATIONS, MIN_BAND = 4, 4, 8


def n_scales(size: int) -> int:
    """Scales of the pyramid and PS model at ``size`` x ``size``."""
    n = N_SCALES
    while n > 1 and size // 2**n < MIN_BAND:
        n -= 1
    return n


# ---------------------------------------------------------------- worker side

def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def warm_up(call, device, warmup: int) -> int:
    """Run ``call`` ``warmup`` times (at least once); the calls per timed repeat.

    A repeat loops ``call`` enough times to last at least :data:`MIN_REPEAT_S`.
    """
    fastest = math.inf
    for _ in range(max(1, warmup)):
        _sync(device)
        start = time.perf_counter()
        call()
        _sync(device)
        fastest = min(fastest, time.perf_counter() - start)
    return max(1, min(MAX_INNER, math.ceil(MIN_REPEAT_S / max(fastest, 1e-9))))


def time_repeat(call, device, inner: int) -> float:
    """One timed repeat: seconds per call of ``inner`` calls of ``call()``."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(inner):
        call()
    _sync(device)
    return (time.perf_counter() - start) / inner



def load_target(args: dict, device):
    """The target: plenoptic's ``reptile_skin`` (256 x 256), cropped or tiled to size.

    Tiled (2 x 2 for 512) or cropped at the centre, in ``args["dtype"]``.
    """
    import plenoptic as po
    import torch

    image = po.data.reptile_skin().to(torch.float64)
    size = int(args["size"])
    reps = math.ceil(size / image.shape[-1])
    image = image.tile(1, 1, reps, reps)
    top = (image.shape[-2] - size) // 2
    left = (image.shape[-1] - size) // 2
    image = image[..., top:top + size, left:left + size].contiguous()
    return image.to(getattr(torch, args["dtype"])).to(device)


def build(args: dict, image):
    """Pyramid, PS model, loss and (not yet set up) metamer for a run.

    Returns
    -------
    pyr, model, loss, met
        ``SteerablePyramidFreq`` as the PS model builds it, the PS model
        (gradients off, in the image's dtype and device), ``po.loss.l2_norm``
        and a ``po.Metamer`` (plenoptic's default range penalty).
    """
    import plenoptic as po

    shape = tuple(image.shape[-2:])
    scales = n_scales(shape[-1])
    pyr = po.process.SteerablePyramidFreq(
        shape, height=scales, order=N_ORIENTATIONS - 1, is_complex=True,
        tight_frame=False).to(image.device).to(image.dtype)
    model = po.models.PortillaSimoncelli(shape, n_scales=scales,
                                         n_orientations=N_ORIENTATIONS)
    model = model.to(image.device).to(image.dtype).eval()
    po.remove_grad(model)
    loss = po.loss.l2_norm
    met = po.Metamer(image, model, loss_function=loss)
    return pyr, model, loss, met


def _private(obj, name: str):
    """A private method of ``obj`` as a function of its arguments."""
    import inspect

    attr = inspect.getattr_static(type(obj), name, None)
    if attr is None:
        raise AttributeError(f"this plenoptic has no {type(obj).__name__}.{name}")
    if isinstance(attr, staticmethod):
        function = attr.__func__
        params = list(inspect.signature(function).parameters)
        if params and params[0] == "self":  # a staticmethod that takes self
            return lambda *a: function(obj, *a)
        return function
    return getattr(obj, name)


def _scalar(outputs):
    """Sum of every tensor in ``outputs`` (dicts, lists, complex parts)."""
    import torch

    if isinstance(outputs, torch.Tensor):
        if outputs.is_complex():
            return outputs.real.sum() + outputs.imag.sum()
        return outputs.sum() if outputs.is_floating_point() else 0
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return sum((_scalar(o) for o in outputs), 0)
    return 0


def _with_grad(value):
    """``value`` (tensor, dict or list of tensors) as fresh leaves needing gradients."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.is_floating_point()
                                                     or value.is_complex())
    if isinstance(value, dict):
        return type(value)((k, _with_grad(v)) for k, v in value.items())
    return type(value)(_with_grad(v) for v in value)


def component_call(component: str, pyr, model, image):
    """``(function, input)`` of a component: ``function(input)`` is what is timed."""
    coeffs = pyr(image)
    if component == "pyr_forward":
        return pyr, image
    if component == "pyr_recon":
        return pyr.recon_pyr, coeffs
    if component in ("pyr_to_tensor", "tensor_to_pyr"):
        # conversions need bands of one size: a pyramid without downsampling
        import plenoptic as po

        flat = po.process.SteerablePyramidFreq(
            tuple(image.shape[-2:]), height=n_scales(image.shape[-1]),
            order=N_ORIENTATIONS - 1, is_complex=True, downsample=False,
        ).to(image.device).to(image.dtype)
        coeffs = flat(image)
        if component == "pyr_to_tensor":
            return (lambda c: flat.convert_pyr_to_tensor(c)[0]), coeffs
        tensor, info = flat.convert_pyr_to_tensor(coeffs)
        return (lambda t: flat.convert_tensor_to_pyr(t, *info)), tensor
    if component == "ps_coeffs":
        return _private(model, "_compute_pyr_coeffs"), image
    if component == "lowpass_recon":
        demeaned = _private(model, "_compute_pyr_coeffs")(image)[0]
        return _private(model, "_reconstruct_lowpass_at_each_scale"), demeaned
    if component == "ps_forward":
        return model, image
    raise ValueError(f"unknown component {component!r}")


def component_session(args: dict, device):
    """Both passes of one component, warmed up: ``(repeat, inner, finish)``.

    ``repeat[pass](n)`` times one repeat of ``n`` calls (seconds per call),
    ``inner[pass]`` is the calls per repeat the warm-up asks for, ``finish()``
    gives what is kept besides timings.
    """
    import torch

    image = load_target(args, device)
    pyr, model, _, _ = build(args, image)
    function, value = component_call(args["component"], pyr, model, image)
    leaf = _with_grad(value)

    def forward():
        with torch.no_grad():
            function(value)

    def forward_backward():
        _scalar(function(leaf)).backward()

    calls = {"forward": forward, "forward_backward": forward_backward}
    inner = {name: warm_up(call, device, args["warmup"])
             for name, call in calls.items()}
    repeat = {name: (lambda n, c=call: time_repeat(c, device, n))
              for name, call in calls.items()}
    return repeat, inner, lambda: {"target_sha1": _digest(image)}



def _digest(tensor) -> str:
    return hashlib.sha1(tensor.detach().cpu().contiguous().numpy().tobytes()
                        ).hexdigest()


def setup_synthesis(met, component: str, seed: int) -> None:
    """Seed, plenoptic's default initial image and the component's optimizer."""
    import plenoptic as po
    import torch

    po.set_seed(seed)
    if component == "synth_adam":
        met.setup(optimizer=torch.optim.Adam, optimizer_kwargs={"lr": ADAM_LR})
        return
    history = int(component.rsplit("_h", 1)[1])
    met.setup(optimizer=torch.optim.LBFGS, optimizer_kwargs={
        "lr": 1.0, "max_iter": LBFGS_MAX_ITER, "max_eval": LBFGS_MAX_ITER,
        "history_size": history, "line_search_fn": "strong_wolfe"})


def synthesis_session(args: dict, device, out_dir: Path):
    """Whole syntheses, warmed up: ``(repeat, inner, finish)`` as for components.

    Every repeat builds the model and metamer afresh and times
    ``Metamer.synthesize``; ``finish()`` saves the last one's ``metamer.pt``,
    ``representation.pt`` (PS of the metamer under this installation's model)
    and ``target_representation.pt`` into ``out_dir``.
    """
    import torch

    image = load_target(args, device)
    state = {"metamers": [], "losses": None, "met": None, "model": None}

    def one(inner: int = 1) -> float:
        _, model, _, met = build(args, image)
        setup_synthesis(met, args["component"], args["seed"])
        _sync(device)
        start = time.perf_counter()
        met.synthesize(max_iter=SYNTH_STEPS, store_progress=False,
                       stop_criterion=-1.0, stop_iters_to_check=SYNTH_STEPS + 1)
        _sync(device)
        seconds = time.perf_counter() - start
        state.update(met=met, model=model, losses=[float(x) for x in met.losses])
        state["metamers"].append(met.metamer.detach().clone())
        return seconds

    for _ in range(args["warmup"]):
        one()

    def finish() -> dict:
        met, model, metamers = state["met"], state["model"], state["metamers"]
        with torch.no_grad():
            rep = model(met.metamer).detach()
            target_rep = model(image).detach()
        values = (target_rep - rep).abs().flatten()
        values = values[~values.isnan()]
        out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(met.metamer.detach().cpu(), out_dir / "metamer.pt")
        torch.save(rep.cpu(), out_dir / "representation.pt")
        torch.save(target_rep.cpu(), out_dir / "target_representation.pt")
        return {
            "losses": state["losses"],
            "max_abs_rep_error": float(values.max()) if values.numel() else math.nan,
            "repeats_identical": all(torch.equal(m, metamers[-1]) for m in metamers),
            "target_sha1": _digest(image),
        }

    return {"synthesis": one}, {"synthesis": 1}, finish



def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def probe() -> dict:
    """What this interpreter's installation is: versions, commit, where."""
    from importlib import metadata

    import plenoptic
    import torch

    commit = None
    try:
        direct = metadata.distribution("plenoptic").read_text("direct_url.json")
        if direct:
            commit = json.loads(direct).get("vcs_info", {}).get("commit_id")
    except metadata.PackageNotFoundError:
        pass
    source = Path(plenoptic.__file__).resolve().parent
    if commit is None and (source.parent / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(source.parent), "rev-parse",
                                     "HEAD"], capture_output=True, text=True,
                                    check=True).stdout.strip() or None
        except (OSError, subprocess.CalledProcessError):
            commit = None
    return {
        "plenoptic_version": getattr(plenoptic, "__version__", None),
        "plenoptic_commit": commit,
        "plenoptic_path": str(source),
        "torch_version": torch.__version__,
        "python": sys.executable,
        "python_version": platform.python_version(),
        "host": socket.gethostname(),
        "cpu_name": _cpu_name(),
        "cuda_available": torch.cuda.is_available(),
    }


class _WorkerParser(argparse.ArgumentParser):
    """Errors on one line, exit status 2, as every script of the project."""

    def error(self, message):
        """Exit with status 2 and one line naming the problem."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def worker(argv=None, commands=None, answer=None) -> dict:
    """The worker's whole run: parse, set threads, warm up, serve, give the result.

    After the warm-up it prints ``{"ready": [passes], "inner": {...}}`` and then
    answers each line of ``commands`` (standard input): ``PASS [CALLS]`` times
    one repeat of it (``CALLS`` calls, default its own ``inner``) and prints
    ``{"seconds": s}``; ``done`` (or the end of input)
    ends it, and the returned result (every repeat's seconds, the probe, what
    the run keeps) is printed by the caller. So the harness can alternate the
    repeats of several installations, each in its own interpreter kept alive.
    """
    # the installation's own interpreter runs this without plenexp: a parser of
    # its own, with plenexp's one-line errors
    parser = _WorkerParser(description="ps_speed timing worker (run by "
                           "synthesize.py inside each installation's Python)")
    parser.add_argument("--probe", action="store_true",
                        help="print the installation's versions and exit")
    parser.add_argument("--component", choices=list(COMPONENTS),
                        help="what to time")
    parser.add_argument("--size", type=int, default=64,
                        help="image height and width (pixels)")
    parser.add_argument("--dtype", choices=DTYPES, default="float32",
                        help="tensor dtype")
    parser.add_argument("--device", default="cpu", help="torch device")
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed calls before the repeats")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0, help="seed of the inputs")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for what the run keeps (metamers)")
    args = vars(parser.parse_args(argv))
    os.environ.setdefault("TQDM_DISABLE", "1")
    if args["probe"]:
        return probe()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(args["threads"])
    import torch

    torch.set_num_threads(args["threads"])
    device = torch.device(args["device"])
    if args["component"] in SYNTHESES:
        repeat, inner, finish = synthesis_session(args, device,
                                                  args["out"] or Path("."))
    else:
        repeat, inner, finish = component_session(args, device)
    answer = answer or (lambda value: print(json.dumps(value), flush=True))
    answer({"ready": list(repeat), "inner": inner})
    seconds = {name: [] for name in repeat}
    for line in commands if commands is not None else sys.stdin:
        command, _, calls = line.strip().partition(" ")
        if command == "done":
            break
        if command not in repeat:
            raise SystemExit(f"unknown command {command!r}: expected one of "
                             f"{list(repeat)} [CALLS] or done")
        inner[command] = int(calls or inner[command])
        seconds[command].append(repeat[command](inner[command]))
        answer({"seconds": seconds[command][-1]})
    result = finish()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {**result, **probe(), "torch_num_threads": torch.get_num_threads(),
            "device_name": gpu or _cpu_name(),
            "passes": {name: {"seconds": seconds[name], "inner": inner[name]}
                       for name in repeat},
            "timed": COMPONENTS[args["component"]][0],
            "private_attribute": COMPONENTS[args["component"]][1]}


# ---------------------------------------------------------------- harness side

def run_name(args: dict) -> str:
    """``<component>_<dtype>_size-<N>`` (every installation of the task in it)."""
    return f"{args['component']}_{args['dtype']}_size-{args['size']}"


#: What a worker's answer says of its installation, copied into every row.
INSTALL_FIELDS = ("install_python", "plenoptic_version", "plenoptic_commit",
                  "torch_version",
                  "python_version", "host", "device_name", "torch_num_threads",
                  "timed", "private_attribute")


def install_record(name: str, python: str, result: dict) -> dict:
    """Provenance of one installation of a run: its answer's probe, its python.

    ``install_environment`` is the environment ``write_disbatch.py`` made (with
    its ``installed.json``: ``pip freeze``), or None for a python used as is.
    """
    installed = Path(python).parent.parent / "installed.json"
    record = {k: result.get(k) for k in (*INSTALL_FIELDS, "plenoptic_path")}
    record.update(install=name, install_python=python,
                  install_environment=str(installed.parent)
                  if installed.is_file() else None)
    if installed.is_file():
        made = json.loads(installed.read_text())
        record["install_pip_freeze"] = made.get("pip_freeze")
        record["install_spec"] = made.get("spec")
        # a checkout installed as a copy knows no commit; its writer recorded it
        if record.get("plenoptic_commit") is None:
            record["plenoptic_commit"] = made.get("plenoptic_commit")
    return record


def loss_rows(args: dict, results: dict, record: dict) -> list[dict]:
    """The rows of a run's ``loss.csv``: one per installation and pass.

    ``results`` maps each installation (the baseline first) to its worker's
    answer. Medians over repeats; ``loss`` is the synthesis's final loss (empty
    for components); ``synth_duration`` the median seconds of one call.
    """
    import statistics

    from plenexp.synth import success

    baseline = next(iter(results))
    rows = []
    for install, result in results.items():
        for name, timed in result["passes"].items():
            seconds = timed["seconds"]
            row = {
                "install": install, "baseline": baseline,
                "component": args["component"],
                "pass": name, "dtype": args["dtype"], "size": args["size"],
                "device": args["device"], "repeats": len(seconds),
                "inner": timed["inner"], "median_seconds": statistics.median(seconds),
                "min_seconds": min(seconds),
                "synth_duration": statistics.median(seconds), "seed": args["seed"],
            }
            if "losses" in result:
                loss = result["losses"][-1]
                row.update(loss=loss, synth_iter=len(result["losses"]) - 1,
                           steps=len(result["losses"]) - 1,
                           max_abs_rep_error=result["max_abs_rep_error"],
                           success=bool(loss <= success.SUCCESS_LOSS and
                                        result["max_abs_rep_error"]
                                        <= success.SUCCESS_REP_ERROR),
                           repeats_identical=result["repeats_identical"])
            else:
                row.update(loss=math.nan, synth_iter=1, steps=1)
            row.update(record)
            row.update({k: result.get(k) for k in INSTALL_FIELDS})
            rows.append(row)
    return rows


def row_record(record: dict) -> dict:
    """Provenance fields for a table row: no package lists, no paths."""
    return {k: v for k, v in record.items()
            if k not in ("args", "argv", "installs")}


def load_run(run_dir, metamer: bool = True):
    """A finished run as a ``RunRecord``: its baseline installation's row.

    ``metamer``: the baseline's saved metamer (syntheses); ``trajectory`` its
    losses. The other installations are in ``loss.csv`` and ``result.json``.
    """
    from plenexp.runs import files, provenance
    from plenexp.runs import results as tables
    from plenexp.runs.record import RunRecord

    run_dir = Path(run_dir)
    record = provenance.load(run_dir)
    table = run_dir / "loss.csv"
    row = tables.read_rows(table)[0] if table.exists() else {}
    path = run_dir / "result.json"
    answers = files.read_json(path) if path.exists() else {}
    baseline = next(iter(answers), None)
    met = None
    if metamer and (run_dir / "metamer.pt").exists():  # the baseline's
        import torch

        met = torch.load(io.BytesIO(files.read_bytes(run_dir / "metamer.pt")),
                         weights_only=True)
    losses = answers[baseline].get("losses") if baseline else None
    trajectory = ([{"step": i, "loss": v} for i, v in enumerate(losses)]
                  if losses else None)
    return RunRecord(run_dir=run_dir, experiment=EXPERIMENT, args=record["args"],
                     provenance={k: v for k, v in record.items() if k != "args"},
                     row=row, metamer=met, trajectory=trajectory)


if __name__ == "__main__":
    print(json.dumps(worker()), flush=True)
