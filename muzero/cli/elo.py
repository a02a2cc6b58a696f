"""Elo over training: `python -m muzero.cli.elo RUN_DIR` (`make elo RUN=runs/...`).

Checkpoints and parameter snapshots of one run play each other and fixed opponents (random,
reference MCTS ladders, perfect play at tic-tac-toe), from distinct openings in both seats
(`muzero.evaluation.openings`); a Bradley-Terry model fitted to the distinct games (a replayed game
counts once) gives Elo ratings with 95% intervals, anchored at random = 0, plotted against
training steps. Elo: P(i beats j) = 1 / (1 + 10^((R_j - R_i) / 400)), a draw counting half a
win (as in the AlphaZero and MuZero papers' Elo figures).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import pathlib
import sys
from typing import Any

from muzero.cli.common import OneLineParser, check_range, fail, write_csv
from muzero.evaluation.elo import (
    Game,
    MatchResult,
    default_anchors,
    fit_elo,
    game_rows,
    match_row,
    pick_steps,
    rating_rows,
    schedule,
    tally,
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = OneLineParser(
        prog="python -m muzero.cli.elo",
        description="Rate a two-player run's checkpoints and snapshots against each other and "
        "fixed opponents; writes RUN_DIR/eval/elo-*.csv/.json/.png.",
    )
    parser.add_argument("run_dir", help="a run directory of a two-player game")
    parser.add_argument(
        "--games",
        type=int,
        help="games per pairing and seat, from distinct openings (default: one per opening, 49 "
        "at connect four, 9 at tic-tac-toe); replayed games count once",
    )
    parser.add_argument(
        "--max-checkpoints", type=int, default=8, help="checkpoints rated, evenly spread"
    )
    parser.add_argument(
        "--anchors",
        help="comma-separated fixed opponents (default: random, mcts-4, mcts-16, mcts-64, and "
        "minimax at tic-tac-toe, perfect at connect four); random is rated 0",
    )
    parser.add_argument(
        "--neighbours", type=int, default=2, help="later checkpoints each checkpoint plays"
    )
    parser.add_argument("--num-simulations", type=int, help="agent simulations per move")
    parser.add_argument("--seed", type=int, default=0, help="seed of the games")
    return parser.parse_args(argv)


def play_pair_games(
    env, players: dict, pairs: list[tuple[str, str]], games: int | None, seed: int
) -> list[Game]:
    """Every game of each pairing, `games` per seat (None: one per opening), with a progress
    bar. A pairing's games start from the same openings in both seats (`match_openings`,
    seeded per pairing); `tally` counts the distinct ones."""
    from rich.progress import Progress

    from muzero.evaluation.matches import play_games
    from muzero.evaluation.openings import match_openings

    records: list[Game] = []
    with Progress() as progress:
        task = progress.add_task("Elo games", total=2 * len(pairs))
        for k, (a, b) in enumerate(pairs):
            openings = match_openings(env, games, seed + k)
            for seat, (first, second) in enumerate(((a, b), (b, a))):
                match_seed = seed + 7919 * (2 * k + seat)
                played = play_games(env, players[first], players[second], openings, match_seed)
                outcomes = played.outcomes.astype(int).tolist()
                records += [
                    Game(first, second, m, o) for m, o in zip(played.moves, outcomes, strict=True)
                ]
                progress.advance(task)
    return records


def play_all(run_dir, config, steps, anchors, args) -> list[Game]:
    """The games of the checkpoints of `steps` and the anchors, paired by `schedule`."""
    from muzero.agent import load_params
    from muzero.evaluation.matches import search_player
    from muzero.evaluation.opponents import make_opponent
    from muzero.runtime.components import build

    c = build(config)
    names = [f"iter {s}" for s in steps]
    players = {
        name: search_player(c.eval_search, load_params(run_dir, s, config))
        for name, s in zip(names, steps, strict=True)
    }
    players |= {name: make_opponent(name, config.env.id) for name in anchors}
    pairs = schedule(names, anchors, args.neighbours)
    return play_pair_games(c.env, players, pairs, args.games, args.seed)


def draw_ratings(ax, x: list, rows: list[dict[str, Any]], label: str) -> None:
    """One player's (or one series') Elo against `x`, with its 95% intervals as error bars."""
    err = [[r["elo"] - r["ci_low"] for r in rows], [r["ci_high"] - r["elo"] for r in rows]]
    ax.errorbar(x, [r["elo"] for r in rows], yerr=err, marker="o", capsize=3, label=label)


def draw_fixed_players(ax, rows: list[dict[str, Any]]) -> None:
    """Dashed horizontal lines at the Elo of the fixed opponents, labelled at the left."""
    for r in rows:
        ax.axhline(r["elo"], linestyle="--", linewidth=0.8, color="grey")
        ax.annotate(r["player"], (0.01, r["elo"]), xycoords=("axes fraction", "data"),
                    fontsize=8, color="grey", va="bottom")  # fmt: skip


def plot_elo(path: pathlib.Path, table: list[dict[str, Any]], title: str) -> None:
    from muzero.runtime.plots import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    rows = [r for r in table if r["env_steps"] is not None]
    draw_ratings(ax, [r["env_steps"] for r in rows], rows, "agent (95% CI)")
    draw_fixed_players(ax, [r for r in table if r["env_steps"] is None])
    label_elo_axes(ax, "environment steps", title)
    save_figure(fig, path)


def label_elo_axes(ax, xlabel: str, title: str) -> None:
    """Axis labels, title and legend of an Elo plot (ratings relative to random = 0)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Elo (random = 0)")
    ax.set_title(title)
    ax.legend(loc="lower right")


def main(argv: list[str] | None = None) -> None:
    import envs
    from muzero.evaluation.opponents import OpponentError, check_opponent_name
    from muzero.runtime import checkpointing
    from muzero.runtime.components import validate_against_env
    from muzero.runtime.runs import load_run_config

    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    check_range(args, ("games", "max_checkpoints", "num_simulations"), 1)
    try:
        run_dir, _ = checkpointing.resolve(pathlib.Path(args.run_dir))
        config = load_run_config(run_dir)
        spec = envs.spec(config.env)
        if not spec.two_player:
            raise ValueError(f"Elo needs a two-player game; {spec.name} is single-player")
        anchors = (
            [a.strip() for a in args.anchors.split(",") if a.strip()]
            if args.anchors
            else default_anchors(spec.name)
        )
        if "random" not in anchors:
            raise ValueError("--anchors must include random (it is rated 0)")
        for name in anchors:
            check_opponent_name(name, spec.name, spec.name in envs.pgx_env.available())
        if args.num_simulations is not None:
            evaluation = dataclasses.replace(config.eval, num_simulations=args.num_simulations)
            config = config.replace(eval=evaluation)
        config = config.replace(eval=dataclasses.replace(config.eval, opponents=()))
        validate_against_env(config, spec)
    except (ValueError, checkpointing.CheckpointError) as error:
        fail(str(error))
    steps = pick_steps(checkpointing.snapshot_steps(run_dir), args.max_checkpoints)
    try:
        games = play_all(run_dir, config, steps, anchors, args)
    # a plug-in anchor that raised or played an illegal move; a snapshot damaged on disk
    except (OpponentError, checkpointing.CheckpointError) as error:
        fail(str(error))
    results = tally(games)
    per_iteration = config.actor.unroll_length * config.actor.num_envs
    table = rating_rows(fit_elo(results, anchor="random"), results, per_iteration)
    out = run_dir / "eval"
    out.mkdir(exist_ok=True)
    base = out / f"elo-{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    write_tables(base, table, games, results)
    summary = {"run_dir": str(run_dir), "ratings": table,
               "games_per_pairing_and_seat": args.games or "one per opening",
               "matches": [match_row(r) for r in results]}  # fmt: skip
    base.with_suffix(".json").write_text(json.dumps(summary, indent=2))
    plot_elo(base.with_suffix(".png"), table, f"{config.preset} ({spec.name}): Elo over training")
    print_ratings(table)
    for suffix in (".csv", ".json", ".png"):
        print(f"wrote {base.with_suffix(suffix)}")


def write_tables(
    base: pathlib.Path, table: list[dict], games: list[Game], results: list[MatchResult]
) -> None:
    """<base>.csv: the ratings; <base>-matches.csv: each match's record, distinct and played
    games; <base>-games.csv: every game's moves."""
    write_csv(base.with_suffix(".csv"), table)
    write_csv(base.parent / (base.name + "-matches.csv"), [match_row(r) for r in results])
    write_csv(base.parent / (base.name + "-games.csv"), game_rows(games))


def print_ratings(table: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(title="Elo (random = 0), 95% intervals, over distinct games")
    for column in ("player", "env steps", "Elo", "95% CI", "W / D / L", "distinct / played"):
        out.add_column(column, justify="right" if column != "player" else "left")
    for r in table:
        steps = "" if r["env_steps"] is None else f"{r['env_steps']:,}"
        ci = f"[{r['ci_low']:.0f}, {r['ci_high']:.0f}]"
        record = f"{r['wins']} / {r['draws']} / {r['losses']}"
        games = f"{r['distinct']} / {r['played']}"
        out.add_row(r["player"], steps, f"{r['elo']:.0f}", ci, record, games)
    Console().print(out)


if __name__ == "__main__":
    main()
