"""Fixed opponents for evaluation. They may know the rules; the agent never does.

Named opponents (`eval.opponents`, `make eval OPPONENTS=...`):
  random            uniformly random legal moves (any game)
  minimax           perfect tic-tac-toe, choosing at random among its best moves
  perfect           perfect play: minimax at tic-tac-toe, bitbully's solver at connect four
                    (fastest win, slowest loss), choosing at random among its best moves
  mcts, mcts-N      a reference MCTS with N simulations per move (default 64) that searches
                    pgx's true simulator, valuing leaves by random playouts (any pgx game)
  module:function   a user's own opponent: `function(observation, legal_action_mask) -> action`
                    on one game's numpy arrays (`state.observation` of the player to move);
                    imported only where code or a command line names it, never because a
                    run's config.json does (`muzero.runtime.runs.load_run_config`)

In a match every player is a `Player` (`muzero.evaluation.players`) over a batch of games.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from muzero.evaluation.players import Player

ObservationPolicy = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]

DEFAULT_MCTS_SIMULATIONS = 64
PERFECT_GAMES = ("tic_tac_toe", "connect_four")
ILLEGAL_SCORE = -1000  # below every solver score, so a full column is never the best move
_MCTS_NAME = re.compile(r"^mcts(-(\d+))?$")
_LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def random_legal_move(legal_mask: np.ndarray, rng: np.random.Generator) -> int:
    """A uniformly random legal move of one position (legal_mask [A] bool), on the host."""
    return int(rng.choice(np.flatnonzero(legal_mask)))


def random_opponent(
    observations: np.ndarray, legal_masks: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Uniformly random legal moves."""
    del observations
    return np.array([random_legal_move(m, rng) for m in np.asarray(legal_masks)])


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


def best_move(scores: np.ndarray, legal_mask: np.ndarray, rng: np.random.Generator) -> int:
    """A uniformly random one of the legal moves with the highest score: perfect players that
    always broke ties the same way would replay one game against any deterministic player."""
    scores = np.where(legal_mask, scores, ILLEGAL_SCORE - 1)
    return int(rng.choice(np.flatnonzero(scores == scores.max())))


def solver_policy(move_scores: Callable[[np.ndarray], np.ndarray]) -> ObservationPolicy:
    """A perfect player from a solver's `move_scores(observation) -> [A]` (higher is better):
    in each game a uniformly random one of its best legal moves (`best_move`)."""

    def policy(observations, legal_masks, rng: np.random.Generator) -> np.ndarray:
        return np.array(
            [
                best_move(move_scores(obs), mask, rng)
                for obs, mask in zip(np.asarray(observations), np.asarray(legal_masks), strict=True)
            ]
        )

    return policy


# A perfect tic-tac-toe player that picks uniformly among its best moves.
minimax_tictactoe = solver_policy(tictactoe_move_values)


@functools.cache
def _connect_four_solver():
    from bitbully import BitBully

    return BitBully()  # loads its opening book once (about 0.5 s)


def connect_four_grid(observation: np.ndarray) -> np.ndarray:
    """pgx's connect-four observation [6, 7, 2] as bitbully's [6, 7] grid (row 0 the top in
    both): 1 for the discs of the player who moved first, 2 for the other's, 0 empty.

    pgx's planes are from the mover's view (plane 0 the mover's discs) and the first mover
    is drawn at random, so seats come from the disc count: the first mover is to move after
    an even number of plies.
    """
    planes = np.asarray(observation).astype(bool)
    mine, theirs = (1, 2) if planes.sum() % 2 == 0 else (2, 1)
    return np.where(planes[..., 0], mine, np.where(planes[..., 1], theirs, 0))


def connect_four_move_scores(observation: np.ndarray) -> np.ndarray:
    """[7] solved score of each column for the player to move, from bitbully: > 0 a win (the
    sooner, the larger), 0 a draw, < 0 a loss (the sooner, the smaller); ILLEGAL_SCORE for a
    full column. The position must not be over."""
    from bitbully import Board

    scores = _connect_four_solver().score_all_moves(Board(connect_four_grid(observation).tolist()))
    values = np.full(7, ILLEGAL_SCORE)
    for column, score in scores.items():
        values[column] = score
    return values


# A perfect connect-four player: the fastest win, else a draw, else the slowest loss.
perfect_connect_four = solver_policy(connect_four_move_scores)


def observation_player(policy: ObservationPolicy) -> Player:
    """A `Player` from a policy over the observations and legal masks of the active games."""

    def player(state, ts, active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        del state
        actions = np.zeros(len(active), np.int32)
        if active.any():
            observations = np.asarray(ts.observation)[active]
            legal = np.asarray(ts.legal_mask)[active]
            actions[active] = policy(observations, legal, rng)
        return actions

    return player


class OpponentError(ValueError):
    """An opponent name that cannot be used, or a plug-in that failed (on import, by raising
    or by an illegal move); the one-line message says why and what would work."""


def _one_line(error: Exception) -> str:
    """'TypeName: message' on one line (a SyntaxError's message spans several)."""
    return " ".join(f"{type(error).__name__}: {error}".split())


def is_plugin(name: str) -> bool:
    """Whether an opponent name is a plug-in (`module:function`): code that importing runs."""
    return ":" in name


def load_plugin(spec: str) -> Callable[[np.ndarray, np.ndarray], Any]:
    """Import `module:function` (the working directory is importable); clear errors otherwise."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise OpponentError(f"opponent {spec!r}: a plug-in is written module:function")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise OpponentError(
            f"opponent {spec!r}: no module named {error.name!r} (is it on PYTHONPATH or in "
            "the working directory?)"
        ) from error
    except Exception as error:  # the plug-in's own code ran and failed: say so in one line
        raise OpponentError(
            f"opponent {spec!r}: importing {module_name!r} raised {_one_line(error)}"
        ) from error
    function = getattr(module, function_name, None)
    if function is None:
        raise OpponentError(f"opponent {spec!r}: module {module_name!r} has no {function_name!r}")
    if not callable(function):
        raise OpponentError(f"opponent {spec!r}: {module_name}.{function_name} is not callable")
    return function


def plugin_player(spec: str) -> Player:
    """A user's `function(observation, legal_action_mask) -> action`, called once per game."""
    function = load_plugin(spec)

    def policy(observations, legal_masks, rng):
        del rng
        actions = []
        for observation, legal in zip(observations, legal_masks, strict=True):
            try:
                action = function(observation, legal)
            except Exception as error:  # an OpponentError, so evaluation can name and skip it
                raise OpponentError(f"opponent {spec!r} raised {_one_line(error)}") from error
            if not (np.ndim(action) == 0 and 0 <= int(action) < len(legal) and legal[action]):
                raise OpponentError(f"opponent {spec!r} returned {action!r}, not a legal action")
            actions.append(int(action))
        return np.array(actions)

    return observation_player(policy)


def mcts_simulations(name: str) -> int | None:
    """N for 'mcts-N' (64 for 'mcts'); None for other names."""
    match = _MCTS_NAME.match(name)
    if match is None:
        return None
    return int(match.group(2)) if match.group(2) else DEFAULT_MCTS_SIMULATIONS


def check_opponent_name(name: str, env_id: str, pgx_game: bool) -> None:
    """Raise OpponentError unless `name` can play `env_id`; imports plug-ins, compiles nothing."""
    if name in ("random",):
        return
    if name == "minimax":
        if env_id != "tic_tac_toe":
            raise OpponentError(f"opponent 'minimax' only plays tic_tac_toe, not {env_id}")
        return
    if name == "perfect":
        if env_id not in PERFECT_GAMES:
            raise OpponentError(
                f"opponent 'perfect' needs a solver of the game: there is one for "
                f"{' and '.join(PERFECT_GAMES)}, not for {env_id}"
            )
        return
    simulations = mcts_simulations(name)
    if simulations is not None:
        if simulations < 1:
            raise OpponentError(f"opponent {name!r}: mcts needs at least 1 simulation")
        if not pgx_game:
            raise OpponentError(f"opponent {name!r} searches pgx's simulator; {env_id} is not pgx")
        return
    if is_plugin(name):
        load_plugin(name)
        return
    raise OpponentError(
        f"unknown opponent {name!r}: use random, minimax, perfect, mcts, mcts-N or module:function"
    )


def make_opponent(name: str, env_id: str) -> Player:
    """The `Player` for an opponent name (see the module docstring)."""
    import envs

    check_opponent_name(name, env_id, env_id in envs.pgx_env.available())
    if name == "random":
        return observation_player(random_opponent)
    if name == "minimax" or (name == "perfect" and env_id == "tic_tac_toe"):
        return observation_player(minimax_tictactoe)
    if name == "perfect":
        return observation_player(perfect_connect_four)
    simulations = mcts_simulations(name)
    if simulations is not None:
        from muzero.evaluation.reference_mcts import make_mcts_player

        return make_mcts_player(env_id, simulations)
    return plugin_player(name)
