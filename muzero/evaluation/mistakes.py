"""Mistake rate against perfect play, on a fixed set of positions (tic-tac-toe, connect four).

Win rates against fixed opponents saturate, and a game lost to perfect play does not say which
move lost it. Here an agent moves once in each of a fixed set of positions, and a move is a
mistake when it gives away the solved outcome for the mover (win -> draw or loss, draw ->
loss): its solved value class is worse than the best move's. The solvers are the perfect
opponents' (`muzero.evaluation.opponents`: exact negamax at tic-tac-toe, bitbully at connect four).

Positions come from play rather than uniform sampling, so they are the ones players reach:
games between mixed-quality players (each ply the solver's best move with probability p, else
a uniformly random legal move; p drawn per game from P_LEVELS). They are deduplicated, only
those where a mistake is possible (not every legal move has the same solved outcome) are kept,
and each is tagged with its game phase by ply. The set depends only on the game, the count and
the seed. The agent sees the environment's own observations: each position is rebuilt by
replaying its moves through the environment.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from envs.core import Env, select_rows
from muzero.evaluation.matches import wilson_interval
from muzero.evaluation.opponents import (
    Player,
    best_move,
    connect_four_move_scores,
    random_legal_move,
    tictactoe_move_values,
)

# Phases by ply (the number of moves played): (name, first ply, last ply).
PHASES = {
    "connect_four": (("opening", 0, 9), ("middle", 10, 23), ("late", 24, 41)),
    "tic_tac_toe": (("opening", 0, 2), ("middle", 3, 5), ("late", 6, 8)),
}
DEFAULT_POSITIONS = {"connect_four": 800, "tic_tac_toe": 300}
P_LEVELS = (0.25, 0.5, 0.75, 0.9)
SELECTION = (
    "positions from games between mixed-quality players (solver's best move with probability "
    f"p in {P_LEVELS}, else a random legal move), deduplicated; only positions where a mistake "
    "is possible (not every legal move has the same solved outcome)"
)
_GAMES_PER_ROUND = 8
_MAX_ROUNDS = 200
_SOLVERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "connect_four": connect_four_move_scores,
    "tic_tac_toe": tictactoe_move_values,
}


class Positions(NamedTuple):
    env_id: str
    seed: int
    moves: np.ndarray  # [N, L] int32 moves from the start; -1 past the position's ply
    plies: np.ndarray  # [N] moves played before the position
    values: np.ndarray  # [N, A] solved outcome of each move for the mover: 1, 0, -1; -2 illegal
    distinct: int  # distinct positions reached in the games, before keeping those above


def phase_of(env_id: str, ply: int) -> str:
    for name, first, last in PHASES[env_id]:
        if first <= ply <= last:
            return name
    raise ValueError(f"ply {ply} is outside every {env_id} phase")


@functools.cache
def _batched_env(env_id: str):
    """jit(vmap(...)) of the game's reset and step, built once per game and process."""
    import envs

    env = envs.make(env_id)
    return jax.jit(jax.vmap(env.reset)), jax.jit(jax.vmap(env.step))


def make_positions(env_id: str, num_positions: int | None = None, seed: int = 0) -> Positions:
    """The first `num_positions` (default DEFAULT_POSITIONS) positions with a possible mistake
    reached by seeded games between mixed-quality players, played in rounds of 8 games."""
    if env_id not in _SOLVERS:
        raise ValueError(f"no mistake benchmark for {env_id}: only {', '.join(_SOLVERS)}")
    num_positions = num_positions or DEFAULT_POSITIONS[env_id]
    reset, step = _batched_env(env_id)
    rng, key = np.random.default_rng(seed), jax.random.key(seed)
    length = max(last for _, _, last in PHASES[env_id]) + 1
    seen: dict[bytes, np.ndarray] = {}  # observation -> solver scores, in order of discovery
    kept: list[tuple[np.ndarray, int, np.ndarray]] = []
    for _ in range(_MAX_ROUNDS):
        found: list[tuple[int, np.ndarray, int, np.ndarray]] = []  # game first: see below
        key, k_reset, k_step = jax.random.split(key, 3)
        state, ts = reset(jax.random.split(k_reset, _GAMES_PER_ROUND))
        moves = np.full((_GAMES_PER_ROUND, length), -1, np.int32)
        skill = rng.choice(P_LEVELS, _GAMES_PER_ROUND)
        running = np.ones(_GAMES_PER_ROUND, bool)
        for ply in range(length):
            observations, legal = np.asarray(ts.observation), np.asarray(ts.legal_mask)
            for g in np.flatnonzero(running):
                scores = seen.get(observations[g].tobytes())
                if scores is None:
                    scores = _SOLVERS[env_id](observations[g])
                    seen[observations[g].tobytes()] = scores
                    values = np.where(legal[g], np.sign(scores), -2)
                    if values[legal[g]].min() < values.max():
                        found.append((g, moves[g].copy(), ply, values))
                if rng.random() < skill[g]:
                    moves[g, ply] = best_move(scores, legal[g], rng)
                else:
                    moves[g, ply] = random_legal_move(legal[g], rng)
            actions = jnp.asarray(np.maximum(moves[:, ply], 0))  # ended games: ignored
            state, ts = step(state, actions, jax.random.split(k_step, _GAMES_PER_ROUND))
            running &= ~np.asarray(ts.terminated | ts.truncated)
            if not running.any():
                break
        # Game by game, so that cutting the set at `num_positions` drops whole games, not the
        # late plies of every game in the last round.
        kept += [f[1:] for f in sorted(found, key=lambda f: f[0])]
        if len(kept) >= num_positions:
            break
    else:
        raise ValueError(
            f"{_MAX_ROUNDS} rounds of games reached only {len(kept)} {env_id} positions with a "
            f"possible mistake; ask for fewer than {num_positions}"
        )
    kept = kept[:num_positions]
    return Positions(
        env_id=env_id,
        seed=seed,
        moves=np.stack([k[0] for k in kept]),
        plies=np.array([k[1] for k in kept]),
        values=np.stack([k[2] for k in kept]),
        distinct=len(seen),
    )


@functools.cache
def _make_replay(reset, step):
    """replay(moves [B, L], key) -> (states, time steps) [B] after each row's moves."""

    def replay(moves, key):
        keys = jax.random.split(key, moves.shape[0])
        start = jax.vmap(reset)(keys)

        def one_ply(carry, actions):
            played = jax.vmap(step)(carry[0], jnp.maximum(actions, 0), keys)

            # Rows whose moves have run out stay where they are.
            return select_rows(actions >= 0, played, carry), None

        return jax.lax.scan(one_ply, start, moves.T)[0]

    return jax.jit(replay)


def replay_positions(env: Env, moves: np.ndarray, seed: int = 0):
    """The environment's (state, time step) [B] of each row of `moves` ([B, L], -1 padded)."""
    return _make_replay(env.reset, env.step)(jnp.asarray(moves), jax.random.key(seed))


def _rate(mistakes: np.ndarray) -> dict[str, Any]:
    count, total = int(mistakes.sum()), int(mistakes.size)
    return {
        "positions": total,
        "mistakes": count,
        "mistake_rate": count / total if total else None,
        "mistake_rate_ci95": list(wilson_interval(count, total)),
    }


def mistake_rate(
    env: Env, player: Player, positions: Positions, batch_size: int = 200, seed: int = 0
) -> dict[str, Any]:
    """The share of `positions` in which `player` (a match `Player`) gives away the solved
    outcome, overall and per phase, with 95% Wilson intervals; an illegal move counts as a
    mistake. Positions go in batches of `batch_size` (the last padded), so a jitted player
    compiles once."""
    if env.spec.name != positions.env_id:
        raise ValueError(f"positions of {positions.env_id} cannot test a {env.spec.name} player")
    rng = np.random.default_rng(seed)
    total = len(positions.plies)
    batch = min(batch_size, total)
    actions = np.zeros(total, np.int64)
    for start in range(0, total, batch):
        rows = np.minimum(np.arange(start, start + batch), total - 1)
        state, ts = replay_positions(env, positions.moves[rows], seed)
        chosen = np.asarray(player(state, ts, np.ones(batch, bool), rng))
        actions[start : start + batch] = chosen[: total - start]
    values = positions.values
    legal = (actions >= 0) & (actions < values.shape[1])
    played = np.where(legal, values[np.arange(total), np.clip(actions, 0, values.shape[1] - 1)], -2)
    mistakes = played < values.max(axis=1)
    phases = np.array([phase_of(positions.env_id, p) for p in positions.plies])
    result = {"env": positions.env_id, "seed": positions.seed, "selection": SELECTION}
    result |= _rate(mistakes) | {"illegal_moves": int(np.sum(played == -2))}
    result["distinct_positions_seen"] = positions.distinct
    result["phases"] = {
        name: {"plies": f"{first}-{last}"} | _rate(mistakes[phases == name])
        for name, first, last in PHASES[positions.env_id]
    }
    return result
