"""Draw one run's figures into its directory (or --output_dir).

Target beside metamer, synthesis status, and the representation error
(``PS(target) - PS(metamer)``).
"""

from pathlib import Path

from plenexp import cli
from plenexp.runs import rundir


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
    from plenexp.experiments.ps_lbfgs import figures, results

    for run, out in destinations:
        loaded = results.load_run(run)
        out.mkdir(parents=True, exist_ok=True)
        figures.write_run_figures(loaded.metamer, out, loaded.args,
                                  loaded.provenance.get("synth_duration", 0.0))
        print(f"figures of {run.name} in {out}")


if __name__ == "__main__":
    cli.run(main)
