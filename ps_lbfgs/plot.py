"""Draw one run's figures into its directory (or --output_dir).

Target beside metamer, synthesis status, and the representation error
(``PS(target) - PS(metamer)``).
"""

from __future__ import annotations

from pathlib import Path

from plenexp import cli
from plenexp.runs import rundir

#: The per-run figures (:func:`write_run_figures`).
FIGURES = ("target_vs_metamer", "synthesis_status", "representation_error")


def run_title(args: dict, final_loss: float, n_iter: int,
              synth_duration: float) -> str:
    """One run's settings and outcome, for its figures' titles."""
    from plenexp.synth import images

    return (f"{images.image_label(args['img'])}: LBFGS max_iter={args['max_iter']}, "
            f"max_eval={args['max_eval']}, history={args['history_size']}, "
            f"lr={args['lr']:g}, line search {args['line_search_fn']}, "
            f"loss {args['loss_function']}\nfinal loss {final_loss:.4g} after "
            f"{n_iter} iterations, {synth_duration:.1f} s")


def write_run_figures(met, run_dir: Path, args: dict,
                      synth_duration: float) -> list[Path]:
    """Target beside metamer, synthesis status, representation error."""
    from plenexp.summary import draw, figure_files

    title = run_title(args, float(met.losses[-1]), len(met.losses) - 1,
                      synth_duration)
    run_dir = Path(run_dir)
    written = figure_files.save(
        draw.images_row([met.image, met.metamer.clip(0, 1)],
                        ["target", "metamer"], title.replace(", line", ",\nline")),
        run_dir / "target_vs_metamer")
    fig = draw.synthesis_status(met)
    fig.suptitle(title, fontsize=11)
    written += figure_files.save(fig, run_dir / "synthesis_status")
    written += figure_files.save(
        draw.representation_error(met.model, met.image, met.metamer,
                                  title=f"representation error: {draw.ERROR_LABEL}"
                                  f"\n{title}"),
        run_dir / "representation_error")
    return written


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished run(s)")
    parser.add_argument("--output_dir", "--output-dir", "-o", type=Path,
                        default=None, help="where to write (default: each run's "
                        "directory); with several runs, one subdirectory per run")
    return parser.parse_args()


def main():
    args = parse_args()
    destinations = rundir.plot_destinations(args.run_dirs, args.output_dir)
    from ps_lbfgs import run

    for run_dir, out in destinations:
        loaded = run.load_run(run_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_run_figures(loaded.metamer, out, loaded.args,
                          loaded.provenance.get("synth_duration", 0.0))
        print(f"figures of {run_dir.name} in {out}")


if __name__ == "__main__":
    cli.run(main)
