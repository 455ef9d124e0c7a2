"""Per-experiment code: the contract every experiment honours.

An experiment ``NAME`` is two folders:

``NAME/`` (scripts, top level of the repository)
    ``synthesize.py`` (one run, every choice an argument), ``time_synthesize.sh``
    (times the whole process), ``write_disbatch.py`` (the task file of a grid),
    ``analyze.py`` (tables and figures for finished runs; ``--force`` rebuilds
    them), ``plot.py`` (one run's figures), ``summarize.py`` (every run's table
    and the summary figures), ``demo.sh`` (the quick grid end to end) and
    ``README.md`` (the question, the grids, how to read the figures).

``plenexp/experiments/NAME/`` (this package), one module per concern:

``grids.py``
    No heavy imports (``--help`` and task writing stay fast). ``EXPERIMENT``;
    ``GRIDS``, grid name to a function ``grid(root, device) -> list[Task]``
    (at least ``smoke``, ``quick`` and ``full``); ``run_name(args) -> str``.
``run.py``
    ``load_target(args, device)``; ``build(args, image)`` returning the model,
    the loss and the synthesis object, the ONE place these are constructed
    (``synthesize.py``, ``analyze.py`` and ``plot.py`` all call it, so
    ``analyze --force`` reproduces the loss a run wrote); ``loss_row(...)``
    (or ``loss_rows``, where a run gives one row per loss function or state).
``results.py``
    ``load_run(run_dir, metamer=True) -> plenexp.runs.record.RunRecord`` and
    ``analyze_run(run_dir, figures=True, force=False) -> bool``.
``figures.py``
    Per-run figures and summary figures (matplotlib/seaborn imported here).
``summary.py``
    ``summarize(input_dir, output_dir, from_csv=None) -> pandas.DataFrame``:
    writes ``output_dir/all_loss.csv`` (the table ``plenexp.load_results``
    reads), the summary figures, and ``output_dir/conclusion.txt``, the
    decision in a few plain sentences (best method or Pareto front, ties
    said as ties), which ``index.html`` shows under the experiment's question
    (the first paragraph of its README).

Shared conventions (``plenexp.cli``): the run directory is ``--output_dir``
(``cli.add_run_dir_argument``), the output root ``--output-root``, the device
``--device``; ``--img``, ``--crop``, ``--seed`` and ``--synth_max_iter`` mean
the same in every script; every option has help and ``--help`` shows its
default. Runs are written through ``plenexp.runs.harness.started_run`` (atomic,
with provenance); ad hoc run names carry a digest of every result-changing
argument (``harness.run_dir_for``). Timing columns are ``init_duration``,
``synth_duration`` and ``process_duration`` (seconds) everywhere.
"""
