"""Greedy evaluation: the agent plays its most visited action, with no root noise.

Single-player environments play a batch of greedy episodes (`muzero.evaluation.episodes`).
Two-player games alternate the agent's batched search with a fixed opponent
from `muzero.evaluation.opponents` on the host, one ply at a time, for each seat, starting from
distinct openings (`muzero.evaluation.openings`): deterministic players would otherwise replay one
game.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from envs.core import Env
from muzero.evaluation.episodes import evaluate_host
from muzero.evaluation.openings import first_occurrences, match_openings
from muzero.evaluation.players import Player
from muzero.search.policy import SearchFn, greedy_action
from muzero.types import Params


def wilson_interval(successes: float, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def search_player(search_jit, params: Params) -> Player:
    """The agent as a match `Player`: its greedy search on the observations, nothing else."""

    def player(state, ts, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        del state, active  # the agent sees observations and legal masks only
        key = jax.random.key(int(rng.integers(2**31)))
        out = search_jit(params, ts.observation, ts.legal_mask, key)
        return np.asarray(greedy_action(out, ts.legal_mask), np.int32)

    return player


@functools.cache
def _batched(reset, step):
    """jit(vmap(...)) of an environment's functions, made once per environment so that
    repeated matches (Elo, evaluations during training) reuse the compiled code."""
    return jax.jit(jax.vmap(reset)), jax.jit(jax.vmap(step))


class MatchGames(NamedTuple):
    """The games of one match; the moves identify each game (equal moves: a replay)."""

    outcomes: np.ndarray  # [N] for `first`: +1 win, 0 draw, -1 loss
    moves: list[tuple[int, ...]]  # [N] each game's moves in order, its opening included


def play_games(
    env: Env, first: Player, second: Player, openings: np.ndarray, seed: int
) -> MatchGames:
    """N games of `first` against `second`, game n starting with the moves of `openings[n]`
    ([N, k], k >= 0); `first` owns the side that makes every game's first move.

    The opening's moves are forced (played by the match, for both sides), then the players take
    over. The N games run side by side; each ply, each player is asked only if it is to move in
    some running game. pgx draws which player id moves first, so seats are read off `to_play`.
    """
    num_games, plies = openings.shape
    rng = np.random.default_rng(seed)
    reset, step = _batched(env.reset, env.step)
    key = jax.random.key(seed)
    key, k_reset = jax.random.split(key)
    state, ts = reset(jax.random.split(k_reset, num_games))
    first_id = np.asarray(ts.to_play)
    outcome = np.zeros(num_games)
    running = np.ones(num_games, bool)
    played = []  # [T] of [N] actions, -1 where the game was over
    while running.any():
        first_moves = np.asarray(ts.to_play) == first_id
        action = np.zeros(num_games, np.int32)
        if len(played) < plies:
            action = openings[:, len(played)].astype(np.int32)
        else:
            for player, turn in ((first, first_moves), (second, ~first_moves)):
                active = running & turn
                if active.any():
                    action = np.where(active, player(state, ts, active, rng), action)
        played.append(np.where(running, action, -1))
        key, k_step = jax.random.split(key)
        state, ts = step(state, jnp.asarray(action), jax.random.split(k_step, num_games))
        reward = np.asarray(ts.reward)
        outcome += np.where(running, np.where(first_moves, reward, -reward), 0.0)
        running &= ~np.asarray(ts.terminated | ts.truncated)
    moves = [tuple(int(a) for a in game if a >= 0) for game in np.stack(played, axis=1)]
    return MatchGames(outcomes=np.sign(outcome), moves=moves)


def play_match(env: Env, first: Player, second: Player, num_games: int, seed: int) -> np.ndarray:
    """Outcomes [N] for `first` (+1 win, 0 draw, -1 loss) of N games from the start position;
    `first` makes every game's first move. Deterministic players replay one game here: matches
    that rate players start from distinct openings instead (`play_games`)."""
    no_opening = np.zeros((num_games, 0), np.int32)
    return play_games(env, first, second, no_opening, seed).outcomes


def win_draw_loss(outcomes: np.ndarray) -> tuple[int, int, int]:
    """(wins, draws, losses): the counts of +1, 0 and -1 among outcomes [N]."""
    outcomes = np.asarray(outcomes)
    wins, draws, losses = (int(np.sum(outcomes == v)) for v in (1, 0, -1))
    return wins, draws, losses


def summarize_outcomes(outcomes: np.ndarray, moves: list | None = None) -> dict[str, Any]:
    """Win/draw/loss counts and rates of [N] outcomes (+1/0/-1), with 95% Wilson intervals.

    With the games' `moves`, a replayed game (same moves) counts once: counts, rates and
    intervals are over the distinct games, so N replays of one game are not N samples.
    "games" is the number played, "distinct" the number counted; rates of no games are 0.
    """
    outcomes = np.asarray(outcomes)
    keep = np.ones(outcomes.size, bool) if moves is None else first_occurrences(moves)
    distinct = int(keep.sum())
    wins, draws, losses = win_draw_loss(outcomes[keep])
    summary: dict[str, Any] = {"games": int(outcomes.size), "distinct": distinct,
                               "wins": wins, "draws": draws, "losses": losses}  # fmt: skip
    for name, count in (("win", wins), ("draw", draws), ("loss", losses)):
        summary[f"{name}_rate"] = count / distinct if distinct else 0.0
        summary[f"{name}_rate_ci95"] = list(wilson_interval(count, distinct))
    summary["score"] = (wins + 0.5 * draws) / distinct if distinct else 0.0
    return summary


def evaluate_two_player(
    env: Env,
    search: SearchFn,
    params: Params,
    opponents: dict[str, Player],
    num_games: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Results per opponent and seat ("random/first": the agent moved first), see
    `summarize_outcomes`, over the distinct games. Both seats start from the same openings
    (`match_openings`: `num_games` of them, dealt from a seeded shuffle). `search` should be
    jitted by the caller (and kept), so repeated evaluations compile once."""
    agent = search_player(search, params)
    openings = match_openings(env, num_games, seed)
    results: dict[str, Any] = {}
    for name, opponent in opponents.items():
        for seat in ("first", "second"):
            match_seed = seed + 7919 * (seat == "second")
            if seat == "first":
                games = play_games(env, agent, opponent, openings, match_seed)
                outcomes = games.outcomes
            else:
                games = play_games(env, opponent, agent, openings, match_seed)
                outcomes = -games.outcomes
            results[f"{name}/{seat}"] = summarize_outcomes(outcomes, games.moves)
    return results


def return_statistics(env_id: str, returns: np.ndarray) -> dict[str, Any]:
    """Mean, median and per-episode returns; Atari adds human-normalized scores."""
    import envs

    details: dict[str, Any] = {
        "episodes": int(returns.size),
        "mean_return": float(returns.mean()),
        "median_return": float(np.median(returns)),
        "std_return": float(returns.std()),
        "min_return": float(returns.min()),
        "max_return": float(returns.max()),
        "returns": returns.tolist(),
    }
    if envs.is_atari(env_id):
        from muzero.evaluation.atari_scores import human_normalized

        normalized = np.asarray(human_normalized(env_id, returns), float)
        details["human_normalized"] = normalized.tolist()
        details["human_normalized_mean"] = float(normalized.mean())
        details["human_normalized_median"] = float(np.median(normalized))
    return details


def evaluate(c, params: Params, seed: int, frames: list | None = None) -> dict[str, Any]:
    """Greedy evaluation of a run's `components.Components` with its eval config: flat
    `eval/...` metrics for the log and the detailed results. A `frames` list receives the
    first episode's observations (host environments)."""
    cfg = c.config
    if c.spec.two_player:
        details = evaluate_two_player(
            c.env, c.eval_search, params, c.opponents, cfg.eval.num_games, seed
        )
        flat = {f"eval/{k}/win_rate": v["win_rate"] for k, v in details.items()}
        flat.update({f"eval/{k}/loss_rate": v["loss_rate"] for k, v in details.items()})
        return {"metrics": flat, "details": details}
    if c.host:
        returns = evaluate_host(
            cfg, c.eval_search, params, num_episodes=cfg.eval.num_games, seed=seed, frames=frames
        )
    else:
        returns = np.asarray(c.eval_episodes(params, jax.random.key(seed)))
    details = return_statistics(cfg.env.id, returns)
    metrics = {"eval/mean_return": details["mean_return"]}
    if "human_normalized_mean" in details:
        metrics["eval/human_normalized_mean"] = details["human_normalized_mean"]
    return {"metrics": metrics, "details": details}
