"""Elo ratings from games: a Bradley-Terry fit to distinct games, with 95% intervals.

Elo: P(i beats j) = 1 / (1 + 10^((R_j - R_i) / 400)), a draw counting half a win (as in the
AlphaZero and MuZero papers' Elo figures). A replayed game (the same players, seats and moves)
counts once. `python -m muzero.cli.elo` plays the games and writes the tables and figure.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

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
