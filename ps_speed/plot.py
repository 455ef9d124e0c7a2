"""Draw one run's figure into its directory (or --output_dir).

``timings``: seconds per call of every timed repeat, one column per pass
(forward, forward + backward; or the whole synthesis), one colour per
installation, beside the loss trajectories for syntheses.
"""

from pathlib import Path

from plenexp import cli
from plenexp.runs import rundir

FIGURES = ("timings",)


def write_run_figures(run_dir, output_dir=None) -> list[Path]:
    """Draw ``timings.{svg,png}`` of a finished (or in-progress) run directory."""
    import matplotlib.pyplot as plt

    from plenexp.runs import files, results
    from plenexp.summary import figure_files

    run_dir = Path(run_dir)
    rows = results.read_rows(run_dir / "timings.csv")
    answers = files.read_json(run_dir / "result.json")
    losses = {name: a["losses"] for name, a in answers.items() if a.get("losses")}
    passes = list(dict.fromkeys(row["pass"] for row in rows))
    installs = list(dict.fromkeys(row["install"] for row in rows))
    fig, axes = plt.subplots(1, 1 + bool(losses), figsize=(4 + 3.5 * bool(losses), 3),
                             squeeze=False)
    ax = axes[0, 0]
    width = 0.6 / max(1, len(installs))
    for j, install in enumerate(installs):
        for i, name in enumerate(passes):
            values = [float(r["seconds"]) for r in rows
                      if r["pass"] == name and r["install"] == install]
            x = i + (j - (len(installs) - 1) / 2) * width
            ax.plot([x] * len(values), values, "o", alpha=0.6, color=f"C{j}",
                    label=install if i == 0 else None)
    ax.set_xticks(range(len(passes)), [p.replace("_", " + ") for p in passes])
    ax.set_xlim(-0.5, len(passes) - 0.5)
    ax.set_ylabel("seconds per call")
    ax.set_title(f"{rows[0]['component']}", fontsize=9)
    ax.legend(fontsize=7)
    for j, (install, values) in enumerate(losses.items()):
        axes[0, 1].semilogy(range(len(values)), values, ".-", color=f"C{j}",
                            label=install, alpha=0.7)
    if losses:
        axes[0, 1].set_xlabel("step")
        axes[0, 1].set_ylabel("loss")
    fig.tight_layout()
    return figure_files.save(fig, Path(output_dir or run_dir) / "timings")


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
    for run, out in destinations:
        write_run_figures(run, out)
        print(f"figure of {run.name} in {out}")


if __name__ == "__main__":
    cli.run(main)
