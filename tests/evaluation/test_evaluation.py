import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from muzero.evaluation.matches import (
    evaluate_two_player,
    play_match,
    search_player,
    summarize_outcomes,
    wilson_interval,
)
from muzero.evaluation.opponents import make_opponent, minimax_tictactoe, observation_player
from muzero.search.policy import SearchOutput


def test_wilson_interval_by_hand():
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(0.7225, abs=1e-3)


def test_summary_counts_a_replayed_game_once():
    outcomes = np.array([1, 1, 1, -1])
    summary = summarize_outcomes(outcomes, [(0, 1), (0, 1), (0, 1), (0, 2)])
    assert summary["games"] == 4 and summary["distinct"] == 2
    assert (summary["wins"], summary["draws"], summary["losses"]) == (1, 0, 1)
    assert summary["win_rate"] == 0.5 and summary["win_rate_ci95"] == list(wilson_interval(1, 2))
    assert summarize_outcomes(outcomes)["wins"] == 3  # without moves every game counts


def perfect_search(params, observation, legal_mask, key):
    """A stand-in agent: the perfect tic-tac-toe player, as a search output on the host."""
    del params, key
    actions = minimax_tictactoe(
        np.asarray(observation), np.asarray(legal_mask), np.random.default_rng(0)
    )
    visits = jax.nn.one_hot(jnp.asarray(actions), 9) * 8
    return SearchOutput(
        action=jnp.asarray(actions, jnp.int32),
        policy_target=visits / 8,
        visit_counts=visits.astype(jnp.int32),
        root_value=jnp.zeros(len(actions)),
    )


def test_perfect_agent_never_loses_and_draws_perfect_play_in_both_seats():
    env = envs.make("tic_tac_toe")
    opponents = {name: make_opponent(name, "tic_tac_toe") for name in ("random", "minimax")}
    results = evaluate_two_player(env, perfect_search, None, opponents, 20, seed=3)
    for seat in ("first", "second"):
        assert results[f"random/{seat}"]["losses"] == 0
        # Every one-ply opening of tic-tac-toe is a draw with perfect play.
        assert results[f"minimax/{seat}"]["draws"] == results[f"minimax/{seat}"]["distinct"]
        r = results[f"random/{seat}"]
        assert r["games"] == 20 and r["wins"] + r["draws"] + r["losses"] == r["distinct"] > 1
    # Against random the first mover wins more often than the second (about 97% vs 78%).
    assert results["random/first"]["wins"] >= results["random/second"]["wins"]


def test_seat_means_move_order():
    """Seat 0: the agent makes every game's first move, whoever pgx draws as player 0."""
    env = envs.make("tic_tac_toe")
    empty_boards_seen = []

    def recording_opponent(observation, legal_mask, rng):
        empty_boards_seen.append(int((~observation.reshape(len(observation), -1).any(-1)).sum()))
        return minimax_tictactoe(observation, legal_mask, rng)

    agent, opponent = search_player(perfect_search, None), observation_player(recording_opponent)
    play_match(env, agent, opponent, 16, seed=0)
    assert sum(empty_boards_seen) == 0  # the opponent never moved on an empty board
    empty_boards_seen.clear()
    play_match(env, opponent, agent, 16, seed=0)
    assert empty_boards_seen[0] == 16  # it opened all 16 games
