"""Draw every MATLAB metamer of a results directory as seen through plenoptic.

One figure per metamer (SVG and PNG): the target | the textureSynth metamer,
titled with its engine and PS loss (plenoptic's model, l2_norm), above
plenoptic's representation difference PS(target) - PS(metamer). Metamers are finished
synthesize.py run directories, or loose synthesize.m MAT files named
<image>_..., whose target is <image>.pgm/.png/... in --target_dir.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from plenexp import cli
from plenexp.runs import paths

if TYPE_CHECKING:
    import torch

    from ps_matlab.metamers import MatlabMetamer

EXPERIMENT = "ps_matlab"


def engine_name(meta: dict) -> str:
    """``Octave 7.3.0``, ``MATLAB R2023a`` or ``textureSynth`` if unknown."""
    engine = str(meta.get("engine") or "")
    if not engine or engine.lower() in ("none", "nan"):
        return "engine not recorded"
    name = {"octave": "Octave", "matlab": "MATLAB"}.get(engine.lower(), engine)
    version = meta.get("engine_version")
    return f"{name} {version}" if version and str(version) != "None" else name


def _iterations(meta: dict) -> str:
    n_iter = meta.get("n_iter")
    if n_iter is None or (isinstance(n_iter, float) and math.isnan(n_iter)):
        return ""
    return f", {int(n_iter)} iterations"


def metamer_figure(name: str, label: str, meta: dict, model: torch.nn.Module,
                   target: torch.Tensor, metamer: torch.Tensor, row: dict):
    """Target | textureSynth metamer (titled with its PS loss), above the error.

    The error is ``PS(target) - PS(metamer)`` by statistic group, as
    plenoptic's ``plot_representation`` draws it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from plenexp.summary import draw
    from ps_matlab.run import LOSS_LABEL

    fig = plt.figure(figsize=(16, 10.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.05], hspace=0.04)
    axes = top.subplots(1, 2)
    for ax, image, title in (
            (axes[0], target, f"target: {label}"),
            (axes[1], metamer.clip(0, 1),
             f"textureSynth metamer ({engine_name(meta)}{_iterations(meta)})\n"
             f"{LOSS_LABEL}: {float(row['loss']):.4g}")):
        ax.imshow(image.numpy()[0, 0], cmap="gray", vmin=0, vmax=1,
                  interpolation="none")
        ax.set_title(title, fontsize=12)
        ax.set_axis_off()
    ax = bottom.subplots()
    draw.representation_error(model, target, metamer, ax=ax, title=" ")
    bottom.suptitle("plenoptic: PS(target) - PS(textureSynth metamer) by statistic "
                    "group (largest single value "
                    f"{float(row['max_abs_rep_error']):.3g}; correlation panels "
                    "show norms over orientations)", fontsize=12)
    fig.suptitle(name, fontsize=13)
    return fig


def write_metamer_figure(metamer: MatlabMetamer, model, target, res, row: dict,
                         stem: Path) -> list[Path]:
    """Save :func:`metamer_figure` of a ``MatlabMetamer`` as ``stem.{svg,png}``."""
    from plenexp.summary import figure_files

    fig = metamer_figure(metamer.name, metamer.label, metamer.meta, model, target,
                         res, row)
    return figure_files.save(fig, stem)


def plot_metamers(found: list[MatlabMetamer], output_dir: Path) -> list[Path]:
    """Write ``<output_dir>/<name>.svg`` and ``.png`` for every metamer.

    Returns
    -------
    written
        The PNG files written (unreadable metamers are reported and skipped).
    """
    from plenexp import errors
    from ps_matlab import metamers, run

    scorer, written = run.Scorer(), []
    for metamer in found:
        try:
            row = scorer.row(metamer)
            target, res, _ = metamers.load_pair(metamer)
        except ValueError as err:  # unreadable, or not finite
            errors.report([f"{metamer.mat_path}: {err}"])
            continue
        paths = write_metamer_figure(
            metamer, scorer.model(metamer, target), target, res, row,
            output_dir / metamer.name)
        written.append(paths[-1])
        print(f"{metamer.name}: PS loss {row['loss']:.4g} -> {paths[-1]}",
              flush=True)
    return written


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("input_dir", nargs="?", type=Path, default=None,
                        help="results directory (default: <output-root>/ps_matlab/"
                        "<grid>)")
    parser.add_argument("--grid", default="quick", help="grid whose runs to draw")
    parser.add_argument("--target_dir", "--target-dir", type=Path, default=None,
                        help="targets of loose MAT files (default: beside them)")
    parser.add_argument("--output_dir", "--output-dir", "-o", type=Path,
                        default=None, help="where to write (default: "
                        "<input_dir>/figures)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main():
    """Draw every metamer found."""
    args = parse_args()
    input_dir = args.input_dir or paths.grid_dir(
        paths.output_root(args.output_root), EXPERIMENT, args.grid)
    if not input_dir.is_dir():
        raise cli.UsageError(f"no results to draw: {input_dir} does not exist "
                             "(run write_disbatch.py and disBatch first)")
    if args.target_dir is not None and not args.target_dir.is_dir():
        raise cli.UsageError(f"--target_dir {args.target_dir} does not exist")
    from plenexp import errors
    from ps_matlab import metamers

    found, problems = metamers.find_metamers(input_dir, args.target_dir)
    errors.report(problems)
    if not found:
        raise cli.UsageError(f"no MATLAB metamers (metamer.mat in finished runs, "
                             f"or *.mat files) under {input_dir}")
    output_dir = args.output_dir or input_dir / "figures"
    written = plot_metamers(found, output_dir)
    print(f"{len(written)} figure(s) in {output_dir}")
    if len(written) < len(found):
        raise SystemExit(1)


if __name__ == "__main__":
    cli.run(main)
