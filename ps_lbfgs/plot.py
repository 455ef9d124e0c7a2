"""Draw one run's figures into its directory (or --output_dir).

Target beside metamer, synthesis status, and the representation error.
"""

from pathlib import Path

from plenexp import cli, rundir


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished run(s)")
    parser.add_argument("--output_dir", "-o", type=Path, default=None,
                        help="where to write (default: each run's directory)")
    return parser.parse_args()


def main():
    args = parse_args()
    for run in args.run_dirs:
        if not rundir.is_done(run):
            raise cli.UsageError(f"{run} is not a finished run (no done.json)")
    from plenexp.experiments import ps_lbfgs

    for run in args.run_dirs:
        met, run_args, record = ps_lbfgs.load_run(run)
        out = args.output_dir or run
        out.mkdir(parents=True, exist_ok=True)
        ps_lbfgs.write_figures(met, out, run_args, record.get("synth_duration", 0.0))
        print(f"figures of {run.name} in {out}")


if __name__ == "__main__":
    cli.run(main)
