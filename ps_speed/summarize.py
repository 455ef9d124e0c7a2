"""Compare a ps_speed grid's installations: faster, slower, results changed.

Writes into the summary directory: ``all_loss.csv`` (every run's rows),
``ratios.csv`` (per installation B, device, dtype, size, component and pass:
median seconds of A and B, the ratio B/A with a bootstrap 95% interval over
the repeats, and the verdict), ``regression.csv`` (per synthesis: max
absolute pixel difference of the metamers, relative representation
difference, bitwise identity, loss trajectories, success of each),
``speed_ratios.{svg,png}`` (the ratios with their intervals, log axis, 1
marked), ``conclusion.txt`` and ``timing.txt``.
"""

from __future__ import annotations

import math

from plenexp import cli
from plenexp.summary.aside import publishes_aside

EXPERIMENT = "ps_speed"
#: The columns that set what one timing costs (``timing.txt`` groups by them).
CONFIG_COLUMNS = ("install", "component", "pass", "dtype", "size")
KEYS = ["device", "dtype", "size", "component", "pass"]
#: Bootstrap resamples and the interval's coverage.
N_BOOTSTRAP, COVERAGE = 2000, 0.95
#: Fewer repeats than this (of A or B) give no interval and no verdict.
MIN_REPEATS = 3
#: The smallest change called slower or faster: the whole interval must lie
#: beyond 1 +- this (or beyond the control's interval, when it is wider).
MIN_EFFECT = 0.05
#: An installation is called slower or faster overall only when more of its
#: timings are than chance gives at this level (each timing is called so by
#: chance with at most (1 - COVERAGE) / 2: of 15 timings, one often is).
OVERALL_LEVEL = 0.05


def beyond_chance(k: int, n: int) -> bool:
    """Whether ``k`` of ``n`` timings called one way is more than chance.

    One-sided binomial tail: the chance that ``k`` or more of ``n`` equal
    timings fall outside their interval on the same side is under
    :data:`OVERALL_LEVEL`.
    """
    if k <= 0:
        return False
    p = (1 - COVERAGE) / 2
    tail = sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1))
    return tail < OVERALL_LEVEL


def bootstrap_ratio(a, b, paired: bool = False, n: int = N_BOOTSTRAP, seed: int = 0):
    """The ratio B/A of two sets of repeats and its bootstrap interval.

    ``paired`` (repeats timed in the same rounds, ``a[i]`` beside ``b[i]``): the
    median of the per-round ratios, rounds resampled with replacement, so what
    drifts between rounds cancels. Otherwise the ratio of medians, the repeats
    of A and of B resampled independently.
    """
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    if paired:
        per_round = b / a
        ratio = float(np.median(per_round))
    else:
        ratio = float(np.median(b) / np.median(a))
    if min(a.size, b.size) < MIN_REPEATS:
        return ratio, math.nan, math.nan
    rng = np.random.default_rng(seed)
    if paired:
        ratios = np.median(rng.choice(per_round, (n, per_round.size)), axis=1)
    else:
        ratios = (np.median(rng.choice(b, (n, b.size)), axis=1)
                  / np.median(rng.choice(a, (n, a.size)), axis=1))
    tail = (1 - COVERAGE) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return ratio, float(low), float(high)


def verdict(low: float, high: float, floor_low: float = 1 / (1 + MIN_EFFECT),
            floor_high: float = 1 + MIN_EFFECT) -> str:
    """``slower`` / ``faster`` when the whole interval is above / below the floor.

    The floor ``[floor_low, floor_high]`` is what noise alone gives: 1 +-
    :data:`MIN_EFFECT`, widened to the control's interval where there is one.
    """
    if math.isnan(low) or math.isnan(high):
        return "too few repeats"
    if low > max(1.0, floor_high):
        return "slower"
    if high < min(1.0, floor_low):
        return "faster"
    return "no difference"


def _timings(run_dir) -> dict[tuple[str, str], dict[int, float]]:
    """``(install, pass) -> {round: seconds}`` of one run."""
    from plenexp.runs import results

    out: dict[tuple[str, str], dict[int, float]] = {}
    for i, row in enumerate(results.read_rows(f"{run_dir}/timings.csv")):
        number = int(row.get("round") or row.get("repeat") or i)
        out.setdefault((row["install"], row["pass"]), {})[number] = float(
            row["seconds"])
    return out


def controls(frame, baseline: str) -> set[str]:
    """Installations other than the baseline given the baseline's python."""
    if "install_python" not in frame.columns:
        return set()
    python = frame.loc[frame["install"] == baseline, "install_python"].dropna()
    if python.empty:
        return set()
    same = frame[(frame["install_python"] == python.iloc[0])
                 & (frame["install"] != baseline)]
    return set(same["install"].astype(str))


def ratio_table(frame, baseline: str):
    """One row per installation B (not the baseline) and timing.

    A and B timed in the same run (alternating rounds) are compared round by
    round; timed in different runs, repeat sets are compared whole. Each
    verdict uses the noise floor of its timing: 1 +- :data:`MIN_EFFECT`, or the
    control's interval (:func:`controls`) where wider.
    """
    import pandas as pd

    from plenexp.runs import results

    rows = []
    runs = frame.drop_duplicates(["run_dir", "install"])
    timings = {}
    for run_dir in dict.fromkeys(runs["run_dir"]):
        with results.skipping(run_dir, "timings.csv"):
            timings[run_dir] = _timings(run_dir)
    index = {}
    for r in runs.itertuples(index=False):
        r = r._asdict()
        for (install, name), values in timings.get(r["run_dir"], {}).items():
            if install != r["install"]:
                continue
            key = (r["device"], r["dtype"], int(r["size"]), r["component"], name)
            index[(install, key)] = (values, r)
    for (install, key), (b, rb) in index.items():
        if install == baseline or (baseline, key) not in index:
            continue
        a, ra = index[(baseline, key)]
        paired = ra["run_dir"] == rb["run_dir"] and set(a) == set(b)
        rounds = sorted(a) if paired else None
        ratio, low, high = bootstrap_ratio(
            [a[i] for i in rounds] if paired else list(a.values()),
            [b[i] for i in rounds] if paired else list(b.values()), paired=paired)
        rows.append({"install": install, "baseline": baseline,
                     **dict(zip(KEYS, key, strict=True)),
                     "median_a": float(pd.Series(list(a.values())).median()),
                     "median_b": float(pd.Series(list(b.values())).median()),
                     "repeats_a": len(a), "repeats_b": len(b), "paired": paired,
                     "ratio": ratio, "low": low, "high": high,
                     "host_a": ra.get("host"), "host_b": rb.get("host"),
                     "hardware_a": ra.get("device_name"),
                     "hardware_b": rb.get("device_name"),
                     "private_attribute": ra.get("private_attribute")})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    control = controls(frame, baseline)
    floors = []
    for r in table.to_dict("records"):
        low, high, source = 1 / (1 + MIN_EFFECT), 1 + MIN_EFFECT, "min effect"
        others = table[table["install"].isin(control - {r["install"]})
                       & (table[KEYS] == pd.Series({k: r[k] for k in KEYS})
                          ).all(axis=1)]
        for c in others.dropna(subset=["low", "high"]).to_dict("records"):
            if c["low"] < low or c["high"] > high:
                source = f"control {c['install']}"
            low, high = min(low, c["low"]), max(high, c["high"])
        floors.append({"floor_low": low, "floor_high": high, "floor": source,
                       "verdict": verdict(r["low"], r["high"], low, high)})
    return pd.concat([table, pd.DataFrame(floors)], axis=1)


def _answer(run_dir, install) -> dict:
    """One installation's worker answer from a run's ``result.json``."""
    from pathlib import Path

    from plenexp.runs import files

    return files.read_json(Path(run_dir) / "result.json")[str(install)]


def _tensor(path):
    """A saved tensor of a run, read only as a regular file of the run."""
    import io

    import torch

    from plenexp.runs import files

    return torch.load(io.BytesIO(files.read_bytes(path)), weights_only=True)


def regression_table(frame, baseline: str):
    """Per synthesis and installation B: whether (and how much) the metamer changed."""
    from pathlib import Path

    import pandas as pd
    import torch

    from plenexp.runs import results

    synth = frame[frame["pass"] == "synthesis"].drop_duplicates(["run_dir",
                                                                 "install"])
    keys = ["device", "dtype", "size", "component"]
    base = {tuple(r[k] for k in keys): r for r in
            synth[synth["install"] == baseline].to_dict("records")}
    rows = []
    for r in synth[synth["install"] != baseline].to_dict("records"):
        a = base.get(tuple(r[k] for k in keys))
        if a is None:
            continue
        with results.skipping(r["run_dir"], "metamer"):
            da = Path(a["run_dir"]) / str(a["install"])
            db = Path(r["run_dir"]) / str(r["install"])
            answer_a = _answer(a["run_dir"], a["install"])
            answer_b = _answer(r["run_dir"], r["install"])
            ma = _tensor(da / "metamer.pt")
            mb = _tensor(db / "metamer.pt")
            ra = _tensor(da / "representation.pt")
            rb = _tensor(db / "representation.pt")
            la, lb = answer_a["losses"], answer_b["losses"]
            same_shape = ra.shape == rb.shape
            rel = (float((rb - ra).norm() / ra.norm()) if same_shape
                   else float("nan"))
            n = min(len(la), len(lb))
            rows.append({
                "install": r["install"], "baseline": baseline,
                **{k: r[k] for k in keys},
                "bitwise_identical": bool(torch.equal(ma, mb)),
                "max_abs_pixel_difference": float((ma - mb).abs().max()),
                "relative_representation_difference": rel,
                "max_loss_difference": max(abs(x - y) for x, y in
                                           zip(la[:n], lb[:n], strict=True)),
                "final_loss_a": la[-1], "final_loss_b": lb[-1],
                "success_a": a["success"], "success_b": r["success"],
                "max_abs_rep_error_a": a["max_abs_rep_error"],
                "max_abs_rep_error_b": r["max_abs_rep_error"],
                "same_target": answer_a.get("target_sha1")
                == answer_b.get("target_sha1")})
    return pd.DataFrame(rows)


#: Ratios a log axis may label (1 always): fine steps near 1, where most are.
RATIO_TICKS = (0.1, 0.2, 0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 5.0, 10.0)


def ratio_ticks(values, most: int = 7) -> list[float]:
    """Labelled ticks spanning ``values`` (NaN ignored), 1 among them, <= ``most``."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)
              and v > 0]
    low, high = (min(finite), max(finite)) if finite else (1.0, 1.0)
    ticks = [t for t in RATIO_TICKS if low / 1.1 <= t <= high * 1.1 or t == 1.0]
    while len(ticks) > most:  # drop the most crowded, keeping 1 and both ends
        gaps = {ticks[i]: min(math.log(ticks[i] / ticks[i - 1]),
                              math.log(ticks[i + 1] / ticks[i]))
                for i in range(1, len(ticks) - 1) if ticks[i] != 1.0}
        ticks.remove(min(gaps, key=gaps.get))
    return ticks


def draw(ratios, stem):
    """The ratios B/A with their intervals: one panel per device and dtype."""
    import matplotlib.pyplot as plt

    from plenexp.summary import figure_files

    panels = list(ratios.groupby(["device", "dtype"], sort=True))
    labels = (ratios[["component", "pass", "size"]].drop_duplicates()
              .sort_values(["component", "pass", "size"]))
    names = [f"{c} {p.replace('forward_backward', 'fwd+bwd')} {s}"
             for c, p, s in labels.itertuples(index=False)]
    position = {tuple(x): i for i, x in enumerate(labels.itertuples(index=False))}
    installs = list(dict.fromkeys(ratios["install"]))
    height = 1.2 + 0.22 * len(names) * max(1, len(installs)) ** 0.5
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullFormatter

    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), height),
                             squeeze=False, sharey=True)
    colors = {"slower": "tab:red", "faster": "tab:green",
              "no difference": "tab:gray"}
    for ax, ((device, dtype), group) in zip(axes[0], panels, strict=True):
        for j, install in enumerate(installs):
            part = group[group["install"] == install]
            offset = (j - (len(installs) - 1) / 2) * 0.3
            for r in part.to_dict("records"):
                y = position[(r["component"], r["pass"], r["size"])] + offset
                low, high = r["low"], r["high"]
                xerr = (None if math.isnan(low) else
                        [[r["ratio"] - low], [high - r["ratio"]]])
                ax.errorbar(r["ratio"], y, xerr=xerr, fmt="os^vD"[j % 5],
                            color=colors.get(r["verdict"], "tab:gray"),
                            ms=4, capsize=2, lw=1)
            ax.plot([], [], "os^vD"[j % 5], color="k", label=f"{install} / "
                    f"{group['baseline'].iloc[0]}")
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ticks = ratio_ticks(group[["ratio", "low", "high"]].to_numpy().ravel())
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{device}, {dtype}", fontsize=10)
        ax.set_xlabel("time ratio B/A (95% bootstrap interval)")
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[0, 0].set_yticks(range(len(names)), names, fontsize=8)
    axes[0, 0].invert_yaxis()
    # beside the panels: below them it covered the axis label
    axes[0, -1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       title="red slower, green faster,\ngrey no difference",
                       title_fontsize=7)
    fig.tight_layout()
    return figure_files.save(fig, stem)


def conclusion(ratios, regression, frame, baseline: str) -> str:
    """The decision in words: per installation and device, then the results."""
    lines = []
    if ratios.empty:
        return ("No installation to compare with the baseline "
                f"{baseline}: every timing lacks its counterpart.\n")
    control_present = bool(controls(frame, baseline))
    for (install, device), group in ratios.groupby(["install", "device"], sort=False):
        counts = group["verdict"].value_counts()
        n = len(group)
        slower, faster = counts.get("slower", 0), counts.get("faster", 0)
        same = counts.get("no difference", 0)
        few = counts.get("too few repeats", 0)
        more_slower, more_faster = beyond_chance(slower, n), beyond_chance(faster, n)
        overall = ("mixed" if more_slower and more_faster else
                   "slower" if more_slower else "faster" if more_faster else
                   "no difference outside noise")
        chance = ("; no more beyond their interval than chance gives"
                  if overall.startswith("no difference") and (slower or faster)
                  else "")
        ps = group[(group["component"] == "ps_forward")]
        detail = "; ".join(f"ps_forward {r['pass']} {r['size']}: "
                           f"{r['ratio']:.2f} [{r['low']:.2f}, {r['high']:.2f}]"
                           for r in ps.to_dict("records"))
        lines.append(f"{install} against {baseline} on {device}: {overall} "
                     f"(of {n} timings, {slower} slower, {faster} faster, {same} no "
                     f"difference outside noise"
                     + (f", {few} with too few repeats to tell" if few else "")
                     + chance + "; median ratio "
                     f"{group['ratio'].median():.2f})."
                     + (f" {detail}." if detail else ""))
        widened = group[group["floor"] != "min effect"]
        lines.append(f"  Noise floor: a timing counts as slower or faster only when "
                     f"its whole {COVERAGE:.0%} interval lies beyond 1 +- "
                     f"{MIN_EFFECT:.0%}"
                     + (f", or beyond the control's interval where wider (it was "
                        f"for {len(widened)} of {n}: "
                        f"{', '.join(sorted(set(widened['floor'])))}, up to "
                        f"[{group['floor_low'].min():.2f}, "
                        f"{group['floor_high'].max():.2f}])"
                        if len(widened) else
                        f" ({install} is itself the control: {baseline}'s python)"
                        if install in controls(frame, baseline) else
                        " (no control's interval was wider)"
                        if control_present else " (no control in this grid)")
                     + "; A and B were "
                     + ("timed in alternating rounds." if group["paired"].all()
                        else "not all timed in the same rounds: drift between "
                        "them is not cancelled."))
        extreme = group.loc[(group["ratio"].apply(math.log).abs()).idxmax()]
        if extreme["verdict"] in ("slower", "faster"):
            lines.append(f"  Largest change: {extreme['component']} "
                         f"{extreme['pass']} at {extreme['size']} "
                         f"({extreme['dtype']}): {extreme['ratio']:.2f}x "
                         f"[{extreme['low']:.2f}, {extreme['high']:.2f}].")
        hosts = {*group["host_a"]} | {*group["host_b"]}
        hardware = {*group["hardware_a"]} | {*group["hardware_b"]}
        if len(hosts) > 1 or len(hardware) > 1:
            lines.append(f"  WARNING: A and B ran on different hosts or hardware "
                         f"({', '.join(sorted(map(str, hosts)))}; "
                         f"{', '.join(sorted(map(str, hardware)))}): the ratios "
                         "mix the change with the machines.")
    if regression.empty:
        lines.append("No synthesis ran under both installations: results not "
                     "compared.")
    groups = [] if regression.empty else regression.groupby("install", sort=False)
    for install, group in groups:
        same = group["bitwise_identical"].sum()
        if same == len(group):
            lines.append(f"Results of {install}: unchanged, every metamer "
                         f"({len(group)}) bitwise identical to {baseline}'s.")
        else:
            worst = group.loc[group["max_abs_pixel_difference"].idxmax()]
            lines.append(f"Results of {install}: changed in {len(group) - same} of "
                         f"{len(group)} syntheses (largest pixel difference "
                         f"{worst['max_abs_pixel_difference']:.3g}, relative "
                         "representation difference "
                         f"{worst['relative_representation_difference']:.3g}, "
                         f"{worst['component']} at {worst['size']}).")
        flips = group[group["success_a"].astype(str) != group["success_b"].astype(str)]
        lines.append(f"  Success criterion (loss <= 0.1, representation error "
                     f"within +-0.5): {baseline} met it in "
                     f"{(group['success_a'].astype(str) == 'True').sum()}, "
                     f"{install} in {(group['success_b'].astype(str) == 'True').sum()}"
                     f" of {len(group)} (10-step syntheses rarely do); "
                     + ("the same ones." if flips.empty else
                        f"it differs for {', '.join(flips['component'])}."))
    return "\n".join(lines) + "\n"


@publishes_aside
def summarize(input_dir, output_dir, from_csv=None):
    """Gather the runs, compare every installation with the baseline, write it all.

    Returns
    -------
    frame
        ``all_loss.csv`` as a DataFrame.
    """
    from pathlib import Path

    import pandas as pd

    from plenexp import errors
    from plenexp.errors import UsageError
    from plenexp.runs import results, rundir
    from plenexp.summary import timing_report

    output_dir = Path(output_dir)
    if from_csv is not None:
        frame = pd.read_csv(from_csv)
    else:
        rows, problems = results.gather(
            input_dir, "loss.csv", value_column="median_seconds",
            required=("install", "component", "pass", "device", "dtype", "size"),
            non_negative=("median_seconds",),
            measured=("min_seconds", "synth_duration", "loss", "max_abs_rep_error",
                      "worker_duration", "process_duration"))
        errors.report(problems)
        if not rows:
            raise UsageError(f"no ps_speed runs with a loss.csv under {input_dir}")
        frame = results.to_frame(rows)
    frame = frame.sort_values(["install", *KEYS], kind="stable")
    named = (frame["baseline"].dropna().astype(str) if "baseline" in frame.columns
             else pd.Series(dtype=str))
    named = named[named.isin(frame["install"].astype(str)) & (named != "None")]
    # the task files name the baseline; runs made by hand: the first by name
    baseline = (str(named.mode().iloc[0]) if len(named)
                else str(frame["install"].iloc[0]))
    output_dir.mkdir(parents=True, exist_ok=True)
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    ratios = ratio_table(frame, baseline)
    regression = regression_table(frame, baseline)
    results.write_csv_atomic(ratios, output_dir / "ratios.csv")
    results.write_csv_atomic(regression, output_dir / "regression.csv")
    if not ratios.empty:
        draw(ratios, output_dir / "speed_ratios")
    with rundir.atomic_path(output_dir / "conclusion.txt") as tmp:
        tmp.write_text(conclusion(ratios, regression, frame, baseline))
    timing_report.write(frame, output_dir, config_columns=CONFIG_COLUMNS)
    return frame


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    return parser.parse_args()


def main():
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    with cli.columns_of(args.from_csv):
        frame = summarize(input_dir, output_dir, from_csv=args.from_csv)
    print(f"{len(frame)} row(s) summarized; conclusion.txt, ratios.csv, "
          f"regression.csv and speed_ratios.png in {output_dir}")
    print((output_dir / "conclusion.txt").read_text(), end="")


if __name__ == "__main__":
    cli.run(main)
