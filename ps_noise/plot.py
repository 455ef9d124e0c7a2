"""Redraw the figure of saved ps_noise runs.

Target | initial image | metamer (titled with its named losses) above
PS(target) - PS(metamer), titled with device, duration and weights.

The initial image is regenerated from the run's seed, noise type and amplitude
and checked against the ``init.pt`` that synthesis saved; a mismatch (e.g. a
torch version that draws other numbers) is an error unless ``--no-check``,
which draws the saved one. Written into each run's directory, or --output_dir.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from plenexp import cli, errors
from plenexp.errors import UsageError
from plenexp.runs import rundir
from ps_noise.options import LOSS_LABELS, LOSS_SHORT, format_weights
from ps_noise.write_disbatch import EXPERIMENT

if TYPE_CHECKING:
    import torch

# The figure synthesize.py and analyze.py write, drawn by the functions below
# (they import matplotlib and torch when called, so --help stays fast). Every
# loss number is named where it is shown, with the words of LOSS_LABELS.

#: Stem of a run's figure.
FIGURE = "ps_noise"
#: What the seven weights weight, as figure titles say it.
WEIGHTS_TEXT = "weights (mean, var, skew, kurt, min, max, highpass var)"


def show(ax, image, title: str, vmin: float = 0.0, vmax: float = 1.0,
         fontsize: float = 10):
    """Draw a ``(1, 1, H, W)`` image in grey on ``[vmin, vmax]``, titled."""
    shown = ax.imshow(image.detach().cpu().double().numpy()[0, 0], cmap="gray",
                      vmin=vmin, vmax=vmax, interpolation="none")
    ax.set_title(title, fontsize=fontsize)
    ax.set_axis_off()
    return shown


def named_losses(row: dict, keys=("loss", "l2_no_minmax"), short: bool = False,
                 sep: str = "\n") -> str:
    """Loss numbers of a ``loss.csv`` row, each after the name of its loss."""
    names = LOSS_SHORT if short else LOSS_LABELS
    return sep.join(f"{names[key]} {float(row[key]):.4g}" for key in keys)


def run_figure(model: torch.nn.Module, image: torch.Tensor, init: torch.Tensor,
               metamer: torch.Tensor, args: dict, row: dict):
    """Target | initial image | metamer, above ``PS(target) - PS(metamer)``.

    Target and metamer are drawn on [0, 1] (metamer pixels outside it
    saturate; the title gives its range), the initial image on its own range,
    shown by its colour bar. The loss numbers are the run's ``loss.csv`` row.
    """
    import matplotlib.pyplot as plt

    from plenexp.summary import draw

    fig = plt.figure(figsize=(17, 10.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.05], hspace=0.04)
    axes = top.subplots(1, 3)
    show(axes[0], image, "target")
    lo, hi = float(init.min()), float(init.max())
    shown = show(axes[1], init, f"initial image: {args['init_noise_type']} noise,\n"
                 f"amplitude {args['init_noise']:g}, seed {args['seed']}", lo, hi)
    top.colorbar(shown, ax=axes[1], shrink=0.8, label="pixel value")
    show(axes[2], metamer,
         f"metamer (pixels in [{float(metamer.min()):.2f}, "
         f"{float(metamer.max()):.2f}], drawn on [0, 1])\n"
         + named_losses(row, ("loss", "l2_no_minmax", "l2_norm")))
    ax = bottom.subplots()
    draw.representation_error(model, image, metamer, ax=ax, title=" ")
    bottom.suptitle("PS(target) - PS(metamer) by statistic group; loss "
                    f"{WEIGHTS_TEXT}: {format_weights(args['weights'])}",
                    fontsize=11)
    crop = f" {args['crop']}x{args['crop']}" if args.get("crop") else ""
    seconds = float(row.get("synth_duration", math.nan))
    fig.suptitle(f"{EXPERIMENT}: {row.get('image', args['img'])}{crop}, "
                 f"{args['synth_max_iter']} LBFGS iterations (history "
                 f"{args['history_size']}), {row.get('device', '?')}, synthesis "
                 f"{seconds:.1f} s", fontsize=13)
    return fig


def write_run_figure(out_dir: Path, model, image, init, metamer, args: dict,
                     row: dict) -> list[Path]:
    """Save :func:`run_figure` as ``ps_noise.svg`` and ``ps_noise.png``."""
    from plenexp.summary import figure_files

    fig = run_figure(model, image, init, metamer, args, row)
    return figure_files.save(fig, Path(out_dir) / FIGURE)


def plot_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
             check_init: bool = True) -> list[Path]:
    """Redraw a finished run's figure, regenerating its initial image.

    Raises
    ------
    UsageError
        If ``check_init`` and the regenerated initial image differs from the
        one synthesis saved (another torch version may draw other numbers).
    """
    import torch

    from ps_noise import run

    record = run.load_run(run_dir, metamer=False)
    init = record.images["init"]
    if check_init and not torch.equal(run.regenerate_init(record), init):
        raise UsageError(
            f"{run_dir}: the initial image regenerated from seed "
            f"{record.args['seed']} differs from the saved init.pt (torch "
            f"{record.provenance.get('torch_version')} made it); --no-check draws "
            "the saved one")
    image = record.images["target"]
    model, loss, _ = run.build(record.args, image, init)
    row = record.row or run.rebuild_row(record, model, loss)
    return write_run_figure(Path(out_dir or run_dir), model, image, init,
                            record.images["metamer"], record.args, row)


# ---------------------------------------------------------------- main ---


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished run(s)")
    parser.add_argument("--output_dir", "--output-dir", "-o", type=Path,
                        default=None,
                        help="where to write (default: each run's directory); "
                        "with several runs, one subdirectory per run")
    parser.add_argument("--no-check", "--no_check", dest="check",
                        action="store_false",
                        help="draw the saved initial image without comparing it "
                        "with the regenerated one")
    return parser.parse_args()


def main():
    """Draw each run's figure."""
    args = parse_args()
    destinations = rundir.plot_destinations(args.run_dirs, args.output_dir)
    for run, out in destinations:
        try:
            written = plot_run(run, out, check_init=args.check)
        except (OSError, ValueError) as err:  # a damaged or hostile run file
            errors.report([f"{run}: {errors.describe(err)}; no figure"])
            continue
        print(f"figure of {run.name}: {written[-1]}")


if __name__ == "__main__":
    cli.run(main)
