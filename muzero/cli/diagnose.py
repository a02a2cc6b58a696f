"""How well the learned model predicts what really happens: `python -m muzero.cli.diagnose RUN_DIR`.

Plays fresh greedy episodes with the run's evaluation search, unrolls the learned model K steps
from every position along the actions really taken and compares its reward, value and policy
with what really happened, per unroll step; `muzero.evaluation.model_errors` holds the computations
and says what is compared and which steps count.

For the two-player board games (tic-tac-toe, connect four) it also tests tactics, whether the
model knows when a move wins or must block (`muzero.evaluation.tactics`), in a second table and
under "tactics" in the JSON, and whether the learned dynamics is what holds the search back: the
mistakes of a one-move lookahead through the model against the same lookahead through the real
next positions (`muzero.evaluation.lookahead`), in a third table and under "lookahead".

Outputs go to `<run dir>/diagnose/diagnose-<step>.{csv,png,json}` and a table is printed.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any

import numpy as np

from muzero.cli.common import (
    OneLineParser,
    add_checkpoint_arguments,
    check_range,
    fail,
    write_csv,
)
from muzero.config import Config
from muzero.evaluation.diagnostics import diagnose_model
from muzero.evaluation.model_errors import METRICS
from muzero.types import Params


def plot(
    rows: list[dict[str, float]],
    title: str,
    path: pathlib.Path,
    tactics: dict[str, Any] | None = None,
) -> None:
    """Per-step errors with 95% bands, one panel per quantity; a board game's tactics last."""
    from muzero.runtime.plots import pyplot, save_figure

    plt = pyplot()
    panels = (
        ("reward MAE", ("reward_mae",)),
        ("value MAE", ("value_mae_target", "value_mae_search")),
        ("policy KL(search || model)", ("policy_kl",)),
        ("top-1 agreement with real action", ("top1_agreement",)),
    )
    labels = {"value_mae_target": "vs n-step target z", "value_mae_search": "vs search value"}
    with_tactics = tactics is not None and "skipped" not in tactics
    columns = len(panels) + with_tactics
    fig, axes = plt.subplots(1, columns, figsize=(4.2 * columns, 3.4), squeeze=False)
    if with_tactics:
        tactics_panel(axes[0, -1], tactics)
    steps = np.array([r["k"] for r in rows])
    for ax, (heading, names) in zip(axes[0, : len(panels)], panels, strict=True):
        for name in names:
            mean = np.array([r[name] for r in rows], np.float64)
            half = np.nan_to_num(np.array([r[f"{name}_ci95"] for r in rows], np.float64))
            ax.plot(steps, mean, marker="o", markersize=3, label=labels.get(name))
            ax.fill_between(steps, mean - half, mean + half, alpha=0.25)
        ax.set_title(heading)
        ax.set_xlabel("unroll step k")
        ax.set_xticks(steps)
        ax.set_ylim(bottom=0.0, top=1.05 if names == ("top1_agreement",) else None)
        ax.grid(alpha=0.3)
        if len(names) > 1:
            ax.legend(fontsize=7)
    fig.suptitle(f"{title}  (bands: 95% interval of the mean)", fontsize=9)
    save_figure(fig, path, dpi=110)


def tactics_panel(ax: Any, report: dict[str, Any]) -> None:
    """Grouped bars, one group per kind of position: quantities a perfect model scores 1 on
    (for a forced block the winning reward is the opponent's reply after a non-block), and
    the chance level of a uniform prior."""
    from muzero.evaluation.tactics import KINDS

    bars = (  # (label, immediate-win key, forced-block key)
        ("prior on move", "move_prior", "move_prior"),
        ("chance", "chance", "chance"),
        ("search plays it", "search_plays", "search_plays"),
        ("winning reward > 0.5", "move_reward_above_half", "threat_reward_above_half"),
    )
    width = 0.8 / len(bars)
    for i, (label, *keys) in enumerate(bars):
        heights = [report[kind].get(key) for kind, key in zip(KINDS, keys, strict=True)]
        heights = [np.nan if h is None else h for h in heights]
        offset = (i - (len(bars) - 1) / 2) * width
        color = "0.6" if label == "chance" else None
        ax.bar(np.arange(len(KINDS)) + offset, heights, width, label=label, color=color)
    ax.set_xticks(np.arange(len(KINDS)))
    ax.set_xticklabels(
        [f"{k.replace('_', ' ')}\n({report[k]['positions']} positions)" for k in KINDS]
    )
    ax.set_ylim(0.0, 1.05)
    ax.set_title("tactics (perfect: 1; chance shown)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)


def print_table(rows: list[dict[str, float]], title: str) -> None:
    """Means per unroll step (the 95% intervals are in the CSV and the PNG)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption="means over the counted positions; '-': none counted")
    table.add_column("k", justify="right")
    for _, _, _, heading in METRICS:
        table.add_column(heading, justify="right")
    table.add_column("positions\n(states/\nrewards)", justify="right")
    for row in rows:
        cells = ["-" if np.isnan(row[name]) else f"{row[name]:.4g}" for _, name, _, _ in METRICS]
        table.add_row(str(row["k"]), *cells, f"{row['states']}/{row['rewards']}")
    Console().print(table)


def print_tactics(report: dict[str, Any]) -> None:
    """One row per quantity, one column per kind of position; '-' where one does not apply."""
    from rich.console import Console
    from rich.table import Table

    from muzero.evaluation.tactics import KINDS, ROWS

    if "skipped" in report:
        print(f"tactics: {report['skipped']}")
        return
    table = Table(
        title=f"tactics: positions from {report['games']} games of {report['source']}",
        caption="means over the positions; values for the player to move, rewards the mover's",
    )
    table.add_column("quantity")
    for kind in KINDS:
        table.add_column(kind.replace("_", " "), justify="right")
    for key, label in ROWS:
        cells = [report[kind].get(key) for kind in KINDS]
        table.add_row(label, *map(_cell, cells))
    Console().print(table)


def print_lookahead(report: dict[str, Any]) -> None:
    """Mistake rates of the one-move players, overall and by phase."""
    from rich.console import Console
    from rich.table import Table

    from muzero.evaluation.lookahead import PLAYERS

    if "skipped" in report:
        print(f"lookahead: {report['skipped']}")
        return
    phases = list(report[PLAYERS[0]]["phases"])
    table = Table(
        title=f"one-move lookahead: mistakes on {report['positions']} benchmark positions",
        caption="prior: no lookahead; imagined: reward and value through the learned dynamics; "
        "real: the same heads on the true next positions",
    )
    table.add_column("player")
    table.add_column("mistakes [95%]", justify="right")
    for phase in phases:
        table.add_column(phase, justify="right")
    for name in PLAYERS:
        r = report[name]
        low, high = r["mistake_rate_ci95"]
        cells = [f"{p['mistakes']}/{p['positions']}" for p in r["phases"].values()]
        table.add_row(name, f"{r['mistake_rate']:.1%} [{low:.1%}, {high:.1%}]", *cells)
    Console().print(table)


def _cell(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}".replace("-0.000", "0.000")


def _board_game_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the tactics and lookahead reports (tic-tac-toe and connect four)."""
    parser.add_argument(
        "--tactics-games",
        type=int,
        default=256,
        help="board games: random games played to find tactical positions (default 256)",
    )
    parser.add_argument(
        "--tactics-positions",
        type=int,
        default=200,
        help="board games: at most this many distinct positions of each kind (immediate win, "
        "forced block); 0 skips the tactics (default 200)",
    )
    parser.add_argument(
        "--lookahead-positions",
        type=int,
        help="board games: positions of the mistake benchmark for the imagined-against-real "
        "lookahead (default: the benchmark's count, 800 at connect four); 0 skips it",
    )


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = OneLineParser(
        prog="python -m muzero.cli.diagnose",
        description=(
            "Roll a run's learned model K steps from the positions of fresh greedy episodes "
            "along the actions really played, and compare its reward, value and policy "
            "predictions with what really happened, per unroll step. Prints a table and "
            "writes <run dir>/diagnose/diagnose-<step>.{csv,png,json}. For tic-tac-toe and "
            "connect four it also tests whether the model knows when a move wins or must "
            "block. JAX environments only."
        ),
    )
    add_checkpoint_arguments(parser)
    parser.add_argument(
        "--episodes", type=int, default=16, help="greedy episodes played (default 16)"
    )
    parser.add_argument(
        "--unroll",
        type=int,
        help="K, model steps unrolled from each position (default: the run's learner.unroll_steps)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the episodes (default 0)")
    parser.add_argument(
        "--num-simulations",
        type=int,
        help="simulations per move of the greedy search (default: the run's evaluation "
        "setting, eval.num_simulations or search.num_simulations)",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=1000,
        help="episodes are cut (treated as truncated) after this many moves (default 1000)",
    )
    _board_game_arguments(parser)
    args = parser.parse_args(argv)
    check_range(args, ("tactics_positions", "lookahead_positions"), 0)
    check_range(args, ("episodes", "unroll", "num_simulations", "max_steps", "tactics_games"), 1)
    return args


def load(run_dir: str, step: int | None) -> tuple[pathlib.Path, int, Config, Any]:
    """(run dir, step, config, params) of a run's checkpoint or snapshot; CheckpointError.

    Host environments get no parameters (None): `main` refuses them before anything loads.
    """
    import envs
    from muzero.agent import load_params
    from muzero.runtime import checkpointing
    from muzero.runtime.runs import load_run_config

    run_path, latest = checkpointing.resolve(pathlib.Path(run_dir))
    step = latest if step is None else step
    config = load_run_config(run_path)
    if envs.is_host_env(config.env.id):
        return run_path, step, config, None
    steps = checkpointing.snapshot_steps(run_path)
    if step not in steps:
        raise checkpointing.CheckpointError(
            f"{run_path} has no iteration {step}; it has {', '.join(map(str, steps))}"
        )
    return run_path, step, config, load_params(run_path, step, config)


def diagnose(
    run_dir: pathlib.Path, step: int, config: Config, params: Params, **options: Any
) -> dict[str, Any]:
    """`diagnose_model` (options are its keywords), then the CSV, PNG and JSON beside the
    run, and the tables printed; returns the JSON summary."""
    rows, summary = diagnose_model(config, params, **options)
    out_dir = pathlib.Path(run_dir) / "diagnose"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"diagnose-{step}"
    summary = {"run_dir": str(run_dir), "step": step} | summary
    summary["files"] = {"csv": f"{stem}.csv", "png": f"{stem}.png"}
    positions, episodes = summary["positions"], summary["episodes"]
    title = f"{config.env.id} step {step}: {episodes} greedy episodes, {positions} positions"
    if summary["episode_returns"] is not None:
        title += f", mean return {np.mean(summary['episode_returns']):.1f}"
    write_reports(stem, rows, summary, f"{run_dir} | {title}", summary["tactics"])
    print_table(rows, title)
    print_board_game_reports(summary["tactics"], summary["lookahead"])
    print(f"wrote {stem}.csv, {stem}.png, {stem}.json")
    return summary


def print_board_game_reports(tactics: dict | None, lookahead: dict | None) -> None:
    if tactics is not None:
        print_tactics(tactics)
    if lookahead is not None:
        print_lookahead(lookahead)


def write_reports(
    stem: pathlib.Path, rows: list[dict], summary: dict, title: str, tactics: dict | None
) -> None:
    """The per-step error table as CSV, its figure as PNG and the whole summary as JSON."""
    write_csv(f"{stem}.csv", rows)
    plot(rows, title, pathlib.Path(f"{stem}.png"), tactics)
    pathlib.Path(f"{stem}.json").write_text(json.dumps(summary, indent=2))


def main(argv: list[str] | None = None) -> None:
    import envs
    from muzero.runtime import checkpointing

    args = _parse(list(sys.argv[1:] if argv is None else argv))
    try:
        run_dir, step, config, params = load(args.run_dir, args.step)
    except (ValueError, checkpointing.CheckpointError) as error:
        fail(str(error))
    if envs.is_host_env(config.env.id):
        fail(
            f"{config.env.id} is a host environment (stepped on the CPU, outside JAX); "
            "diagnose replays episodes inside one jitted loop and supports JAX environments "
            "(gymnax, pgx) only"
        )
    diagnose(
        run_dir,
        step,
        config,
        params,
        episodes=args.episodes,
        unroll_steps=args.unroll,
        seed=args.seed,
        num_simulations=args.num_simulations,
        max_steps=args.max_steps,
        tactics_games=args.tactics_games,
        tactics_positions=args.tactics_positions,
        lookahead_positions=args.lookahead_positions,
    )


if __name__ == "__main__":
    main()
