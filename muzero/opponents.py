"""Fixed opponents for evaluation. They may know the rules; the agent never does.

An opponent is `opponent(observations [B, *O], legal_masks [B, A], rng) -> actions [B]`
on numpy arrays: the same observation the agent would get when it is the opponent's turn.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

Opponent = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]

_LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def random_opponent(
    observations: np.ndarray, legal_masks: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Uniformly random legal moves."""
    del observations
    return np.array([rng.choice(np.flatnonzero(m)) for m in np.asarray(legal_masks)])


def _wins(marks: int) -> bool:
    return any(all(marks >> i & 1 for i in line) for line in _LINES)


@functools.cache
def _negamax(mine: int, theirs: int) -> int:
    """Game value for the player to move: +1 win, 0 draw, -1 loss, with perfect play."""
    if _wins(theirs):
        return -1
    empty = [i for i in range(9) if not (mine | theirs) >> i & 1]
    if not empty:
        return 0
    return max(-_negamax(theirs, mine | 1 << i) for i in empty)


def tictactoe_move_values(observation: np.ndarray) -> np.ndarray:
    """[9] perfect-play value of each move for the player to move (-2 for occupied cells).

    pgx's tic-tac-toe observation is [3, 3, 2]: plane 0 the mover's marks, plane 1 the other's.
    """
    planes = np.asarray(observation).reshape(9, 2).astype(bool)
    mine = sum(1 << i for i in range(9) if planes[i, 0])
    theirs = sum(1 << i for i in range(9) if planes[i, 1])
    values = np.full(9, -2)
    for i in range(9):
        if not (mine | theirs) >> i & 1:
            values[i] = -_negamax(theirs, mine | 1 << i)
    return values


def minimax_tictactoe(
    observations: np.ndarray, legal_masks: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A perfect tic-tac-toe player that picks uniformly among its best moves."""
    actions = []
    for obs, mask in zip(np.asarray(observations), np.asarray(legal_masks), strict=True):
        values = np.where(mask, tictactoe_move_values(obs), -3)
        actions.append(rng.choice(np.flatnonzero(values == values.max())))
    return np.array(actions)


OPPONENTS: dict[str, Opponent] = {"random": random_opponent, "minimax": minimax_tictactoe}
# Which games an opponent can play; `random` plays anything.
OPPONENT_GAMES: dict[str, tuple[str, ...]] = {"minimax": ("tic_tac_toe",)}
