"""Aggregate scores over runs and tasks, as rliable reports them (Agarwal et al. 2021, "Deep
Reinforcement Learning at the Edge of the Statistical Precipice", NeurIPS).

For each algorithm a [runs, tasks] matrix of normalized scores gives the interquartile mean
(IQM: the mean of the middle 50% of all run x task scores), the median and the mean over tasks
of the per-task mean over runs, and the optimality gap (how far the scores fall short of 1, the
human or target level), each with a 95% percentile interval from rliable's stratified bootstrap:
every task keeps its column and its runs are resampled with replacement (`task_bootstrap` also
resamples the tasks, the only uncertainty one run per task can show).

The formulas are rliable's (`rliable.metrics`, `rliable.library.StratifiedBootstrap`), written
here in numpy: rliable 1.2.0, its newest release, pins arch < 8, and arch 7.2 cannot be imported
beside pandas 3 (it calls pandas' `deprecate_kwarg` with the pandas 2 signature) while arch 8
rejects the `random_state` keyword rliable passes. rliable resamples with numpy's global legacy
generator (its `random_state` argument does not reach the resampling); this module draws the same
indices in the same order from `np.random.RandomState(seed)`, so for one algorithm it gives the
intervals of `np.random.seed(seed)` then `rliable.library.get_interval_estimates(...,
method="percentile")`: equal to 1e-16 when checked against rliable 1.2.0 with arch 7.2 and
pandas 2.3 (points, intervals with and without `task_bootstrap`, and performance profiles).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import numpy as np
import scipy.stats

# Metric key: the name figures and tables show.
METRICS = {"iqm": "IQM", "median": "Median", "mean": "Mean", "optimality_gap": "Optimality gap"}

Aggregates = dict[str, dict[str, tuple[float, float, float]]]


def check_scores(scores: np.ndarray) -> np.ndarray:
    """`scores` as a float [runs, tasks] array; ValueError if it is not one, empty or not finite."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"scores must be a non-empty [runs, tasks] matrix, not {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError("scores must be finite")
    return scores


def aggregate_metrics(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """[4]: IQM, median, mean and optimality gap (at `gamma`) of a [runs, tasks] matrix."""
    task_means = scores.mean(axis=0)  # [tasks]
    return np.array([
        scipy.stats.trim_mean(scores, proportiontocut=0.25, axis=None),
        np.median(task_means),
        task_means.mean(),
        gamma - np.minimum(scores, gamma).mean(),
    ])  # fmt: skip


def stratified_bootstrap(
    scores: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    reps: int = 2000,
    seed: int = 0,
    task_bootstrap: bool = False,
) -> np.ndarray:
    """[reps, K]: `statistic` ([runs, tasks] -> [K]) of `reps` resamples of `scores`, each
    task's runs drawn with replacement (and the tasks too with `task_bootstrap`)."""
    if reps < 1:
        raise ValueError(f"reps must be at least 1, not {reps}")
    runs, tasks = scores.shape
    # RandomState, not a Generator: rliable draws from numpy's legacy global generator, and
    # the same stream keeps the intervals equal to its own for the same seed.
    rng = np.random.RandomState(seed)
    columns = np.arange(tasks)[None, :]  # [1, tasks]
    samples = []
    for _ in range(reps):
        rows = rng.choice(runs, (runs, tasks), replace=True)  # [runs, tasks]
        if task_bootstrap:
            columns = rng.choice(tasks, (1, tasks), replace=True)
        samples.append(statistic(scores[rows, columns]))
    return np.stack(samples)


def aggregate_scores(
    scores: dict[str, np.ndarray],
    reps: int = 2000,
    seed: int = 0,
    task_bootstrap: bool = False,
    gamma: float = 1.0,
) -> Aggregates:
    """{algorithm: {metric: (point estimate, 95% CI low, 95% CI high)}} for each algorithm's
    [runs, tasks] score matrix, the metrics of `METRICS` in its order. The same `seed` gives
    the same intervals; each algorithm is resampled from that seed (rliable continues one
    stream across algorithms)."""
    out = {}
    for algorithm, matrix in scores.items():
        matrix = check_scores(matrix)
        statistic = lambda m: aggregate_metrics(m, gamma)
        points = statistic(matrix)
        samples = stratified_bootstrap(matrix, statistic, reps, seed, task_bootstrap)
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
        out[algorithm] = {
            metric: (float(points[i]), float(low[i]), float(high[i]))
            for i, metric in enumerate(METRICS)
        }
    return out


def aggregate_rows(aggregates: Aggregates) -> list[dict]:
    """One row per algorithm and metric (algorithm, metric, value, ci_low, ci_high): for
    data/*.csv."""
    return [
        {"algorithm": algorithm, "metric": metric, "value": v, "ci_low": lo, "ci_high": hi}
        for algorithm, by_metric in aggregates.items()
        for metric, (v, lo, hi) in by_metric.items()
    ]


def aggregates_table(aggregates: Aggregates, percent: bool = False) -> str:
    """A markdown table: one row per algorithm, one column per metric, each cell
    `value [low, high]` (as percentages with `percent`)."""
    metrics = list(METRICS)
    fmt = (lambda x: f"{100 * x:.1f}%") if percent else (lambda x: f"{x:.3g}")
    lines = [
        "| algorithm | " + " | ".join(f"{METRICS[m]} [95% CI]" for m in metrics) + " |",
        "|---|" + "---|" * len(metrics),
    ]
    for algorithm, by_metric in aggregates.items():
        cells = [
            f"{fmt(by_metric[m][0])} [{fmt(by_metric[m][1])}, {fmt(by_metric[m][2])}]"
            for m in metrics
        ]
        lines.append(f"| {algorithm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_interval_estimates(
    aggregates: Aggregates,
    path: pathlib.Path,
    xlabel: str = "normalized score",
    references: dict[str, dict[str, float]] | None = None,
    metrics: tuple[str, ...] = tuple(METRICS),
) -> None:
    """rliable's interval-estimate figure as a PNG: one panel per metric, one bar per algorithm
    spanning its 95% interval with a tick at the point estimate; `references` ({name: {metric:
    value}}, e.g. a paper's published numbers) are drawn as dashed vertical lines; `metrics`
    picks the panels (all of `METRICS` by default)."""
    from muzero.runtime.plots import pyplot, save_figure

    plt = pyplot()
    algorithms = list(aggregates)
    colors = plt.get_cmap("tab10")
    height = max(1.8, 0.45 * len(algorithms) + 1.2)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(3.4 * len(metrics), height), sharey=True, squeeze=False
    )
    for ax, metric in zip(axes[0], metrics, strict=True):
        title = METRICS[metric]
        for row, algorithm in enumerate(algorithms):
            value, low, high = aggregates[algorithm][metric]
            ax.barh(row, high - low, left=low, height=0.6, color=colors(row % 10), alpha=0.75)
            ax.vlines(value, row - 0.3, row + 0.3, color="k", alpha=0.7)
        for k, (name, values) in enumerate((references or {}).items()):
            if metric in values:
                ax.axvline(values[metric], color="grey", linestyle=("--", ":", "-.")[k % 3],
                           linewidth=1, label=name)  # fmt: skip
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        ax.set_title(title)
        ax.set_yticks(range(len(algorithms)), algorithms)
        ax.set_xlabel(xlabel)
        # Bars pin the axis to their left ends; without a margin a point interval (one run)
        # would hide in the frame.
        ax.use_sticky_edges = False
        ax.margins(x=0.1)
        ax.grid(True, axis="x", alpha=0.25)
    save_figure(fig, path)


def performance_profiles(
    scores: dict[str, np.ndarray], taus: np.ndarray, reps: int = 2000, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """rliable's score distributions: {algorithm: (fraction of all run x task scores above each
    threshold in `taus` [T], its 95% interval low [T] and high [T])}, stratified bootstrap."""
    taus = np.asarray(taus, dtype=np.float64)
    statistic = lambda m: (m[..., None] > taus).mean(axis=(0, 1))  # [T]
    out = {}
    for algorithm, matrix in scores.items():
        matrix = check_scores(matrix)
        samples = stratified_bootstrap(matrix, statistic, reps, seed)
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
        out[algorithm] = (statistic(matrix), low, high)
    return out


def plot_performance_profiles(
    profiles: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    taus: np.ndarray,
    path: pathlib.Path,
    xlabel: str = r"normalized score $\tau$",
) -> None:
    """The profiles of `performance_profiles` as a PNG, each with its shaded 95% band."""
    from muzero.runtime.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for k, (algorithm, (profile, low, high)) in enumerate(profiles.items()):
        color = plt.get_cmap("tab10")(k % 10)
        ax.plot(taus, profile, color=color, linewidth=2, label=algorithm)
        ax.fill_between(taus, low, high, color=color, alpha=0.15)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"fraction of runs with score $> \tau$")
    ax.grid(True, alpha=0.25)
    ax.legend()
    save_figure(fig, path)
