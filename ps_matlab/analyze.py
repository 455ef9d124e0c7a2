"""Write the table and figure of finished ps_matlab runs from what they saved.

``synthesize.py`` scores its metamer itself (``loss.csv``: plenoptic's PS
loss, overall and by statistic group) and draws ``ps_matlab.{svg,png}`` unless
``--no_plots`` (the grids' tasks skip it, so process times stay clean); this
writes what is missing, or with ``--force`` everything again. The PS model is
built as the run built it, so a rebuilt ``loss`` is the one the run wrote. It
also adds the whole-process seconds of ``time_synthesize.sh`` as
``process_duration``. Give run directories or directories holding runs; no
MATLAB or Octave is needed here.
"""

from plenexp import cli


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_analyze_arguments(parser)
    return parser.parse_args()


def main():
    """Write the tables (and figures) that need it."""
    args = parse_args()
    from plenexp.experiments.ps_matlab import results
    from plenexp.runs.results import analyze_runs

    analyze_runs(args.dirs, results.analyze_run, figures=not args.no_plots,
                 force=args.force)


if __name__ == "__main__":
    cli.run(main)
