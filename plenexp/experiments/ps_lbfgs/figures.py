"""One ps_lbfgs run's figures (plenoptic's model plots; not on the summary path)."""

from __future__ import annotations

from pathlib import Path

from plenexp.summary import draw, figure_files
from plenexp.synth import images


def run_title(args: dict, final_loss: float, n_iter: int,
              synth_duration: float) -> str:
    """One run's settings and outcome, for its figures' titles."""
    return (f"{images.image_label(args['img'])}: LBFGS max_iter={args['max_iter']}, "
            f"max_eval={args['max_eval']}, history={args['history_size']}, "
            f"lr={args['lr']:g}, line search {args['line_search_fn']}, "
            f"loss {args['loss']}\nfinal loss {final_loss:.4g} after {n_iter} "
            f"iterations, {synth_duration:.1f} s")


def write_run_figures(met, run_dir: Path, args: dict,
                      synth_duration: float) -> list[Path]:
    """Target beside metamer, synthesis status, representation error."""
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
