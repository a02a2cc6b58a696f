"""Openings and game identity for matches between two players.

Greedy agents (no root noise, the most visited move) and other deterministic players replay
one game every time from pgx's single start position, so N games per seat would be one game
counted N times. A match therefore starts its games from distinct openings, every sequence of
the first k legal moves, which the match applies itself before the players take over, each
opening played in both seats. A game's identity is its full move list (the opening included)
with who sat where, and only distinct games are counted: a replay adds no information.

Against a stochastic opponent two games can also coincide by chance; counting them once
slightly under-weights the likeliest games (measured: about 1 point of win rate for a perfect
tic-tac-toe player against random at 100 games per seat, 5 points at 900; connect-four games
almost never coincide by chance).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from envs.core import Env

# Tic-tac-toe opens with one move: each of its 9 first moves is a draw with perfect play, so an
# opening never decides the game and perfect players still draw every game. Its 72 two-ply
# openings would include lost positions for the second player (e.g. a corner answered by an
# edge). Connect four opens with two moves: 7 x 7 = 49 openings.
OPENING_PLIES = {"tic_tac_toe": 1, "connect_four": 2}
DEFAULT_OPENING_PLIES = 2


def opening_plies(env_id: str) -> int:
    """Moves in an opening of `env_id` (see OPENING_PLIES; 2 for other games)."""
    return OPENING_PLIES.get(env_id, DEFAULT_OPENING_PLIES)


@functools.cache
def enumerate_openings(env: Env, plies: int) -> np.ndarray:
    """[M, plies] int32: every sequence of `plies` legal moves from the start position, in
    lexicographic order (cached per environment).

    Only the positions before the last ply are stepped (b^(plies-1) states, not b^plies), so
    two-ply openings of large boards stay cheap. A line whose game is over before the last ply
    has no continuation and is left out; an opening whose last move ends the game (none at two
    plies of pgx's board games) would be played as a finished game.
    """
    state, ts = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), 1))
    openings = np.zeros((1, 0), np.int32)
    for ply in range(plies):
        legal = np.asarray(ts.legal_mask) & ~np.asarray(ts.terminated | ts.truncated)[:, None]
        rows, actions = np.nonzero(legal)  # row-major: lexicographic order is kept
        openings = np.concatenate([openings[rows], actions[:, None].astype(np.int32)], axis=1)
        if ply + 1 < plies:
            state = jax.tree.map(lambda x, r=rows: x[r], state)
            keys = jax.random.split(jax.random.key(ply + 1), len(rows))
            state, ts = jax.jit(jax.vmap(env.step))(state, jnp.asarray(actions, jnp.int32), keys)
    openings.setflags(write=False)  # cached: shared by every caller
    return openings


def assign_openings(openings: np.ndarray, num_games: int | None, seed: int) -> np.ndarray:
    """[N, k] the openings of N games: a seeded shuffle of the M openings, dealt in turn.

    N = None plays every opening once. N < M plays N distinct openings, drawn without
    replacement; N > M plays every opening floor(N/M) or ceil(N/M) times (with deterministic
    players the repeats are replays and count once).
    """
    order = np.random.default_rng(seed).permutation(len(openings))
    return openings[np.resize(order, len(openings) if num_games is None else num_games)]


def match_openings(env: Env, num_games: int | None, seed: int) -> np.ndarray:
    """[N, k] the openings of a match of `env` (see `assign_openings`)."""
    return assign_openings(enumerate_openings(env, opening_plies(env.spec.name)), num_games, seed)


def first_occurrences(games: list) -> np.ndarray:
    """[N] bool: True at the first of each group of equal games (any hashable identity, e.g.
    (first, second, moves)); the rest are replays."""
    seen: set = set()
    keep = np.zeros(len(games), bool)
    for k, game in enumerate(games):
        keep[k] = game not in seen
        seen.add(game)
    return keep
