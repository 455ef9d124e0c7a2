"""Draw one run's figures into its directory (or --output_dir).

Target beside metamer, synthesis status, and the representation error.
"""

from pathlib import Path

from plenexp import cli


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished run(s)")
    parser.add_argument("--output_dir", "-o", type=Path, default=None,
                        help="where to write (default: each run's directory); "
                        "with several runs, one subdirectory per run")
    return parser.parse_args()


def main():
    args = parse_args()
    destinations = cli.plot_destinations(args.run_dirs, args.output_dir)
    from plenexp.experiments import ps_lbfgs

    for run, out in destinations:
        met, run_args, record = ps_lbfgs.load_run(run)
        out.mkdir(parents=True, exist_ok=True)
        ps_lbfgs.write_figures(met, out, run_args, record.get("synth_duration", 0.0))
        print(f"figures of {run.name} in {out}")


if __name__ == "__main__":
    cli.run(main)
