"""Evaluate a trained run: `python -m muzero.cli.eval RUN_DIR` (`make eval RUN=runs/...`).

Loads the latest checkpoint (or `--step`), plays greedy games with search (most visited
action, no root noise) and writes `eval/eval-<step>-<time>.json` and `.csv` into the run.

- Two-player games: wins, draws and losses per opponent and seat with 95% Wilson intervals,
  against random, the reference MCTS on pgx's rules (and perfect play at tic-tac-toe and
  connect four) by default, plus any `--opponent module:function`.
- Tic-tac-toe and connect four: the mistake rate against perfect play on a fixed set of
  positions, overall and per game phase (`muzero.evaluation.mistakes`; `--mistake-positions`).
- Single-player games: per-episode returns, mean and median; Atari adds human-normalized
  scores (`muzero.evaluation.atari_scores`) and a GIF of the first evaluation episode.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
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


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = OneLineParser(
        prog="python -m muzero.cli.eval",
        description="Evaluate a trained run with search; results go to RUN_DIR/eval/.",
    )
    add_checkpoint_arguments(parser)
    parser.add_argument(
        "--games",
        type=int,
        help="episodes (single-player) or games per opponent and seat (default: the run's "
        "eval.num_games)",
    )
    parser.add_argument(
        "--num-simulations",
        type=int,
        help="simulations per move (default: the run's eval.num_simulations or "
        "search.num_simulations)",
    )
    parser.add_argument(
        "--opponents",
        help="comma-separated opponents for two-player games: random, minimax (tic-tac-toe), "
        "perfect (tic-tac-toe, connect four), mcts, mcts-N (reference MCTS with N simulations "
        "on the true rules), module:function (default: random, mcts, and minimax for "
        "tic-tac-toe, perfect for connect four)",
    )
    parser.add_argument(
        "--opponent",
        action="append",
        default=[],
        help="one more opponent, e.g. a plug-in module:function whose function(observation, "
        "legal_action_mask) returns an action; repeatable",
    )
    parser.add_argument(
        "--mistake-positions",
        type=int,
        help="tic-tac-toe and connect four: positions of the mistake-rate benchmark (default: "
        "300 and 800; 0 = skip it)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the evaluation games")
    parser.add_argument(
        "--no-video", action="store_true", help="Atari: skip the GIF of the first episode"
    )
    return parser.parse_args(argv)


def default_opponents(env_id: str) -> list[str]:
    import envs

    names = ["random"]
    if env_id in envs.pgx_env.available():
        names.append("mcts")
    if env_id == "tic_tac_toe":
        names.append("minimax")
    if env_id == "connect_four":
        names.append("perfect")
    return names


def mistake_positions(requested: int | None, env_id: str) -> int:
    """Positions of the mistake benchmark for this game; 0 where there is none."""
    from muzero.evaluation.mistakes import DEFAULT_POSITIONS

    if requested is None:
        return DEFAULT_POSITIONS.get(env_id, 0)
    if requested < 0:
        raise ValueError(f"--mistake-positions must be >= 0, not {requested}")
    if requested and env_id not in DEFAULT_POSITIONS:
        raise ValueError(
            f"--mistake-positions: the mistake benchmark needs a solved game "
            f"({', '.join(DEFAULT_POSITIONS)}), not {env_id}"
        )
    return requested


def prepare(args: argparse.Namespace):
    """Resolve the run, step and config; every check before anything compiles."""
    import envs
    from muzero.runtime import checkpointing
    from muzero.runtime.components import validate_against_env
    from muzero.runtime.runs import load_run_config

    run_dir, step = checkpointing.resolve(pathlib.Path(args.run_dir))
    config = load_run_config(run_dir)
    if args.step is not None:
        steps = checkpointing.snapshot_steps(run_dir)
        if args.step not in steps:
            raise checkpointing.CheckpointError(
                f"{run_dir} has no checkpoint or snapshot of iteration {args.step}; it has "
                f"{', '.join(map(str, steps)) or 'none'}"
            )
        step = args.step
    checkpointing.verify_params(run_dir, step)  # a damaged file fails here, before compiling
    spec = envs.spec(config.env)
    opponents = (
        [name.strip() for name in args.opponents.split(",") if name.strip()]
        if args.opponents
        else default_opponents(spec.name)
    ) + list(args.opponent)
    if not spec.two_player and (args.opponents or args.opponent):
        raise ValueError(f"{spec.name} is a single-player environment: it has no opponents")
    evaluation = dataclasses.replace(
        config.eval,
        num_games=args.games if args.games is not None else config.eval.num_games,
        num_simulations=(
            args.num_simulations
            if args.num_simulations is not None
            else config.eval.num_simulations
        ),
        opponents=tuple(opponents) if spec.two_player else config.eval.opponents,
    )
    config = config.replace(eval=evaluation)
    validate_against_env(config, spec)
    return run_dir, step, config


def two_player_rows(details: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, r in details.items():
        opponent, seat = key.rsplit("/", 1)
        rows.append(
            {
                "opponent": opponent,
                "agent_seat": seat,
                "games": r["games"],
                "wins": r["wins"],
                "draws": r["draws"],
                "losses": r["losses"],
                "distinct": r["distinct"],  # the games counted: replays count once
                "win_rate": r["win_rate"],
                "win_rate_ci_low": r["win_rate_ci95"][0],
                "win_rate_ci_high": r["win_rate_ci95"][1],
                "loss_rate": r["loss_rate"],
                "loss_rate_ci_low": r["loss_rate_ci95"][0],
                "loss_rate_ci_high": r["loss_rate_ci95"][1],
            }
        )
    return rows


def write_gif(path: pathlib.Path, frames: list[np.ndarray], fps: float = 15.0) -> None:
    """Frames [H, W, C] uint8 (C = 1 or 3) -> an animated GIF, upscaled 2x for viewing."""
    import imageio.v2 as imageio

    video = [np.repeat(np.repeat(f, 2, axis=0), 2, axis=1) for f in frames]
    video = [f[..., 0] if f.shape[-1] == 1 else f for f in video]
    imageio.mimsave(path, video, duration=1000.0 / fps, loop=0)


def run_evaluation(
    run_dir: pathlib.Path, step: int, config, seed: int, video: bool, mistakes: int = 0
) -> dict:
    """Play the games and, given `mistakes` positions, the mistake benchmark; returns the
    JSON-ready results (nothing written)."""
    from muzero.agent import load_params
    from muzero.evaluation.matches import evaluate
    from muzero.runtime.components import build

    c = build(config)
    # A GIF needs frames: host environments with image observations [H, W, C] (Atari).
    pictures = c.host and len(c.spec.observation_shape) == 3
    frames: list | None = [] if (pictures and video) else None
    params = load_params(run_dir, step, config)
    details = evaluate(c, params, seed, frames)["details"]
    results: dict[str, Any] = {
        "run_dir": str(run_dir),
        "step": step,
        "env": config.env.id,
        "num_simulations": config.eval_simulations,
        "seed": seed,
        "time": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    if mistakes:
        from muzero.evaluation.matches import search_player
        from muzero.evaluation.mistakes import make_positions, mistake_rate

        # One fixed set (seed 0) for every run and evaluation, so their rates compare.
        positions = make_positions(config.env.id, mistakes, seed=0)
        agent = search_player(c.eval_search, params)
        results["mistakes"] = mistake_rate(c.env, agent, positions, seed=seed)
    if c.spec.two_player:
        return results | {"games_per_seat": config.eval.num_games, "opponents": details}
    return results | details | {"frames": frames}


def write_results(run_dir: pathlib.Path, results: dict[str, Any]) -> list[pathlib.Path]:
    out = run_dir / "eval"
    out.mkdir(exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = out / f"eval-{results['step']}-{stamp}"
    frames = results.pop("frames", None)
    written = [base.with_suffix(".json"), base.with_suffix(".csv")]
    if frames:
        written.append(base.with_suffix(".gif"))
        write_gif(written[-1], frames)
        results["video"] = str(written[-1])
    written[0].write_text(json.dumps(results, indent=2))
    if "opponents" in results:
        rows = two_player_rows(results["opponents"])
    else:
        normalized = results.get("human_normalized")
        rows = [
            {"episode": i, "return": r}
            | ({"human_normalized": normalized[i]} if normalized else {})
            for i, r in enumerate(results["returns"])
        ]
    write_csv(written[1], rows)
    return written


def _percent(rate: float, low: float, high: float) -> str:
    return f"{100 * rate:.0f} [{100 * low:.0f}, {100 * high:.0f}]"


def print_results(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    title = (
        f"{results['env']}: iteration {results['step']}, "
        f"{results['num_simulations']} simulations per move"
    )
    table = Table(title=title)
    if "opponents" in results:
        table.add_column("opponent", overflow="fold")
        columns = ("agent moves", "W / D / L", "distinct / played", "win % [95% CI]",
                   "loss % [95% CI]")  # fmt: skip
        for column in columns:
            table.add_column(column)
        for row in two_player_rows(results["opponents"]):
            table.add_row(
                row["opponent"],
                row["agent_seat"],
                f"{row['wins']} / {row['draws']} / {row['losses']}",
                f"{row['distinct']} / {row['games']}",
                _percent(row["win_rate"], row["win_rate_ci_low"], row["win_rate_ci_high"]),
                _percent(row["loss_rate"], row["loss_rate_ci_low"], row["loss_rate_ci_high"]),
            )
    else:
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_row("episodes", str(results["episodes"]))
        for name in ("mean_return", "median_return", "min_return", "max_return"):
            table.add_row(name.replace("_", " "), f"{results[name]:.2f}")
        if "human_normalized_mean" in results:
            table.add_row("human-normalized mean", f"{results['human_normalized_mean']:.1%}")
            table.add_row("human-normalized median", f"{results['human_normalized_median']:.1%}")
        returns = ", ".join(f"{r:g}" for r in results["returns"][:20])
        more = " ..." if len(results["returns"]) > 20 else ""
        table.add_row("returns", returns + more)
    Console().print(table)
    if "mistakes" in results:
        print_mistakes(results["mistakes"])


def print_mistakes(mistakes: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Mistakes against perfect play ({mistakes['env']}, seed {mistakes['seed']})",
        caption="positions from play where a mistake is possible; a mistake gives away the "
        "solved outcome (win -> draw or loss, draw -> loss)",
    )
    for column in ("phase", "plies", "positions", "mistakes", "mistake % [95% CI]"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    phases = mistakes["phases"] | {"all": mistakes | {"plies": ""}}
    for name, r in phases.items():
        rate, (low, high) = r["mistake_rate"], r["mistake_rate_ci95"]
        text = "-" if rate is None else f"{100 * rate:.1f} [{100 * low:.1f}, {100 * high:.1f}]"
        table.add_row(name, r["plies"], str(r["positions"]), str(r["mistakes"]), text)
    Console().print(table)


def main(argv: list[str] | None = None) -> None:
    from muzero.evaluation.opponents import OpponentError
    from muzero.runtime import checkpointing

    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    check_range(args, ("games", "num_simulations"), 1)
    try:
        run_dir, step, config = prepare(args)
        mistakes = mistake_positions(args.mistake_positions, config.env.id)
    except (ValueError, checkpointing.CheckpointError) as error:
        fail(str(error))
    try:
        results = run_evaluation(run_dir, step, config, args.seed, not args.no_video, mistakes)
    # a plug-in that raised or played an illegal move; damage only the array data shows
    except (OpponentError, checkpointing.CheckpointError) as error:
        fail(str(error))
    written = write_results(run_dir, results)
    print_results(results)
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
