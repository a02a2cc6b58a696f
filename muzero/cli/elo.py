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
import math
import pathlib
import sys
from typing import Any, NamedTuple

import numpy as np

from muzero.cli.common import OneLineParser, check_range, fail, write_csv

ELO_SCALE = 400.0 / math.log(10.0)  # Elo points per natural-log unit of odds
PRIOR_SD = 1000.0  # a weak prior keeps unbeaten records finite; negligible otherwise


class MatchResult(NamedTuple):
    """The distinct games of `first` against `second` (see `tally`)."""

    first: str  # the player who moved first in these games
    second: str
    wins: int  # for `first`, over the distinct games
    draws: int
    losses: int
    duplicates: int = 0  # replays of a game already counted, left out of wins/draws/losses

    @property
    def distinct(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def played(self) -> int:
        return self.distinct + self.duplicates


class Game(NamedTuple):
    """One game, identified by who sat where and its moves: equal games are replays."""

    first: str
    second: str
    moves: tuple[int, ...]  # in order, the opening included
    outcome: int  # for `first`: +1 win, 0 draw, -1 loss


class Ratings(NamedTuple):
    players: list[str]
    elo: np.ndarray  # [P]
    ci95: np.ndarray  # [P, 2]


def expected_score(elo_i: float | np.ndarray, elo_j: float | np.ndarray) -> np.ndarray:
    """Expected score of i against j (win 1, draw 1/2)."""
    return 1.0 / (1.0 + 10.0 ** ((np.asarray(elo_j) - np.asarray(elo_i)) / 400.0))


def tally(games: list[Game]) -> list[MatchResult]:
    """One MatchResult per ordered pairing (in order of first appearance), each distinct game
    counted once: deterministic players replay the same game, and N replays of one game are
    one observation, not N (counting them would shrink the Elo intervals for nothing)."""
    from muzero.evaluation.matches import win_draw_loss
    from muzero.evaluation.openings import first_occurrences

    keep = first_occurrences([(g.first, g.second, g.moves) for g in games])
    outcomes: dict[tuple[str, str], list[int]] = {}  # each pairing's distinct games
    replays: dict[tuple[str, str], int] = {}
    for game, counted in zip(games, keep, strict=True):
        pairing = (game.first, game.second)
        outcomes.setdefault(pairing, []).extend([game.outcome] if counted else [])
        replays[pairing] = replays.get(pairing, 0) + int(not counted)
    return [
        MatchResult(*pairing, *win_draw_loss(o), duplicates=replays[pairing])
        for pairing, o in outcomes.items()
    ]


def match_row(result: MatchResult) -> dict[str, Any]:
    """A MatchResult as a table row, with its distinct and played game counts."""
    return {"first": result.first, "second": result.second, "wins": result.wins,
            "draws": result.draws, "losses": result.losses, "distinct": result.distinct,
            "played": result.played}  # fmt: skip


def fit_elo(results: list[MatchResult], anchor: str, anchor_elo: float = 0.0) -> Ratings:
    """Maximum a posteriori Bradley-Terry ratings; the anchor's rating is fixed.

    Score of a match = wins + draws / 2 of its distinct games (replays are not evidence);
    seats are pooled (the first-move advantage is averaged out because every pairing is played
    from both seats). Intervals come from the inverse of the observed information (the Hessian
    of the log-likelihood) at the optimum.
    """
    players = sorted({r.first for r in results} | {r.second for r in results})
    if anchor not in players:
        raise ValueError(f"the anchor {anchor!r} played no games")
    index = {p: k for k, p in enumerate(players)}
    i = np.array([index[r.first] for r in results])
    j = np.array([index[r.second] for r in results])
    games = np.array([r.distinct for r in results], float)
    score = np.array([r.wins + 0.5 * r.draws for r in results], float)
    free = np.array([p != anchor for p in players])
    theta = np.zeros(len(players))  # natural-log strengths; Elo = ELO_SCALE * theta
    prior_precision = (ELO_SCALE / PRIOR_SD) ** 2
    for _ in range(100):  # Newton's method on a concave objective
        p = 1.0 / (1.0 + np.exp(theta[j] - theta[i]))
        residual = score - games * p
        gradient = np.zeros_like(theta)
        np.add.at(gradient, i, residual)
        np.add.at(gradient, j, -residual)
        gradient -= prior_precision * theta
        weight = games * p * (1 - p)
        information = np.zeros((len(players), len(players)))
        np.add.at(information, (i, i), weight)
        np.add.at(information, (j, j), weight)
        np.add.at(information, (i, j), -weight)
        np.add.at(information, (j, i), -weight)
        information += prior_precision * np.eye(len(players))
        sub = information[np.ix_(free, free)]
        step = np.linalg.solve(sub, gradient[free])
        theta[free] += step
        if np.max(np.abs(step)) < 1e-10:
            break
    covariance = np.zeros((len(players), len(players)))
    covariance[np.ix_(free, free)] = np.linalg.inv(information[np.ix_(free, free)])
    elo = anchor_elo + ELO_SCALE * theta
    half = 1.96 * ELO_SCALE * np.sqrt(np.diag(covariance))
    return Ratings(players, elo, np.stack([elo - half, elo + half], axis=1))


def pick_steps(steps: list[int], limit: int) -> list[int]:
    """At most `limit` steps, evenly spread, always with the first and the last."""
    if len(steps) <= limit:
        return list(steps)
    picks = np.unique(np.round(np.linspace(0, len(steps) - 1, limit)).astype(int))
    return [steps[k] for k in picks]


def schedule(checkpoints: list[str], anchors: list[str], neighbours: int) -> list[tuple]:
    """Pairings: every checkpoint against every anchor and its next `neighbours` checkpoints,
    and the anchors among themselves, so one fit links every rating."""
    pairs = [(a, b) for k, a in enumerate(anchors) for b in anchors[k + 1 :]]
    for k, checkpoint in enumerate(checkpoints):
        pairs += [(checkpoint, anchor) for anchor in anchors]
        pairs += [(checkpoint, other) for other in checkpoints[k + 1 : k + 1 + neighbours]]
    return pairs


def default_anchors(env_id: str) -> list[str]:
    return ["random", "mcts-4", "mcts-16", "mcts-64"] + (
        ["minimax"] if env_id == "tic_tac_toe" else ["perfect"] if env_id == "connect_four" else []
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
    from muzero.evaluation.opponents import check_opponent_name
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
    games = play_all(run_dir, config, steps, anchors, args)
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


def player_record(
    results: list[MatchResult], player: str, opponent: str | None = None
) -> dict[str, int]:
    """`player`'s wins, draws and losses (from its side) over its distinct games in `results`
    (against `opponent` only, if given), those games' count and the games played, replays
    included."""
    record = dict.fromkeys(("wins", "draws", "losses", "distinct", "played"), 0)
    for r in results:
        seats = (r.first, r.second)
        if player not in seats or (opponent is not None and opponent not in seats):
            continue
        wins, losses = (r.wins, r.losses) if r.first == player else (r.losses, r.wins)
        for key, count in (("wins", wins), ("draws", r.draws), ("losses", losses),
                           ("distinct", r.distinct), ("played", r.played)):  # fmt: skip
            record[key] += count
    return record


def player_records(results: list[MatchResult]) -> dict[str, dict[str, int]]:
    """Every player's `player_record` over all its games."""
    players = dict.fromkeys(name for r in results for name in (r.first, r.second))
    return {name: player_record(results, name) for name in players}


def rating_rows(
    ratings: Ratings, results: list[MatchResult], per_iteration: int
) -> list[dict[str, Any]]:
    """One row per player: its iteration and env steps (None for fixed opponents), Elo, 95%
    interval and record; fixed opponents first, then checkpoints in training order."""
    records = player_records(results)
    table = []
    for player, elo, (low, high) in zip(ratings.players, ratings.elo, ratings.ci95, strict=True):
        step = int(player.split()[1]) if player.startswith("iter ") else None
        table.append(
            {
                "player": player,
                "iteration": step,
                "env_steps": None if step is None else step * per_iteration,
                "elo": float(elo),
                "ci_low": float(low),
                "ci_high": float(high),
            }
            | records[player]
        )
    table.sort(key=lambda r: (r["iteration"] is not None, r["iteration"] or 0, r["elo"]))
    return table


def game_rows(games: list[Game]) -> list[dict[str, Any]]:
    """Every game played, its moves space-separated and whether it counted (False: a replay
    of an earlier game with the same players in the same seats)."""
    from muzero.evaluation.openings import first_occurrences

    counted = first_occurrences([(g.first, g.second, g.moves) for g in games])
    return [
        {"first": g.first, "second": g.second, "outcome": g.outcome,
         "moves": " ".join(map(str, g.moves)), "counted": bool(c)}
        for g, c in zip(games, counted, strict=True)
    ]  # fmt: skip


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
