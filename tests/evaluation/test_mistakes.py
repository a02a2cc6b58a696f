"""The mistake-rate benchmark: positions from play, replayed through the real environment, and
mistakes counted against the solvers."""

import numpy as np
import pytest

import envs
from muzero.evaluation.matches import wilson_interval
from muzero.evaluation.mistakes import (
    _SOLVERS,
    PHASES,
    Positions,
    make_positions,
    mistake_rate,
    phase_of,
    replay_positions,
)
from muzero.evaluation.opponents import make_opponent, observation_player, tictactoe_move_values
from muzero.runtime import components


def lowest_legal(observations, legal_masks, rng):
    del observations, rng
    return np.argmax(legal_masks, axis=1)


LOWEST = observation_player(lowest_legal)
SIZES = {"tic_tac_toe": 60, "connect_four": 40}  # small sets: the solver is the slow part


@pytest.fixture(scope="module", params=["tic_tac_toe", "connect_four"])
def game(request):
    env_id = request.param
    return envs.make(env_id), make_positions(env_id, SIZES[env_id], seed=5)


def test_phases_by_hand():
    assert [phase_of("connect_four", p) for p in (0, 9, 10, 23, 24, 41)] == [
        "opening", "opening", "middle", "middle", "late", "late"
    ]  # fmt: skip
    assert [phase_of("tic_tac_toe", p) for p in (0, 2, 3, 5, 6, 8)] == [
        "opening", "opening", "middle", "middle", "late", "late"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="outside every"):
        phase_of("tic_tac_toe", 9)


def test_positions_are_distinct_replayable_and_each_allows_a_mistake(game):
    env, positions = game
    assert len(positions.plies) == SIZES[env.spec.name] <= positions.distinct
    np.testing.assert_array_equal((positions.moves >= 0).sum(axis=1), positions.plies)
    _, ts = replay_positions(env, positions.moves)
    observations, legal = np.asarray(ts.observation), np.asarray(ts.legal_mask)
    assert not np.any(np.asarray(ts.terminated))
    assert len({o.tobytes() for o in observations}) == len(observations)  # deduplicated
    # The environment's own observations give back the stored solved values.
    for observation, mask, values in zip(observations, legal, positions.values, strict=True):
        np.testing.assert_array_equal(values == -2, ~mask)
        np.testing.assert_array_equal(
            values[mask], np.sign(_SOLVERS[env.spec.name](observation))[mask]
        )
        assert values[mask].min() < values.max()  # some legal move is a mistake


def test_same_seed_same_positions_and_a_prefix_of_a_larger_set():
    small = make_positions("tic_tac_toe", 30, seed=5)
    large = make_positions("tic_tac_toe", 60, seed=5)
    np.testing.assert_array_equal(small.moves, large.moves[:30])
    np.testing.assert_array_equal(small.values, large.values[:30])
    other = make_positions("tic_tac_toe", 30, seed=6)
    assert not np.array_equal(small.moves, other.moves)


def test_perfect_play_makes_no_mistakes_and_the_lowest_column_some(game):
    env, positions = game
    perfect = mistake_rate(env, make_opponent("perfect", env.spec.name), positions, batch_size=16)
    assert perfect["mistakes"] == 0 and perfect["illegal_moves"] == 0
    assert perfect["mistake_rate_ci95"][0] == 0 < perfect["mistake_rate_ci95"][1]
    lowest = mistake_rate(env, LOWEST, positions, batch_size=16)
    assert lowest["mistakes"] > 0 and lowest["illegal_moves"] == 0
    # The phases partition the positions; each rate has its own Wilson interval.
    phases = lowest["phases"]
    assert list(phases) == [name for name, _, _ in PHASES[env.spec.name]]
    assert sum(p["positions"] for p in phases.values()) == lowest["positions"]
    assert sum(p["mistakes"] for p in phases.values()) == lowest["mistakes"]
    for p in [lowest, *phases.values()]:
        assert p["mistake_rate_ci95"] == list(wilson_interval(p["mistakes"], p["positions"]))


def test_mistakes_counted_by_hand():
    """Tic-tac-toe, lowest free cell. After X0 O3 X1 O4 (ply 4, middle) it is cell 2, X's
    win: no mistake. After X0 (ply 1, opening) O must take the centre; cell 1 loses."""
    moves = np.full((2, 9), -1)
    moves[0, :4] = (0, 3, 1, 4)
    moves[1, 0] = 0
    values = np.full((2, 9), -1)
    values[0, [0, 1, 3, 4]], values[0, 2], values[0, 5] = -2, 1, 0
    values[1, 0], values[1, 4] = -2, 0
    positions = Positions("tic_tac_toe", 0, moves, np.array([4, 1]), values, 2)
    env = envs.make("tic_tac_toe")
    _, ts = replay_positions(env, moves)
    for observation, expected in zip(np.asarray(ts.observation), values, strict=True):
        np.testing.assert_array_equal(tictactoe_move_values(observation), expected)
    result = mistake_rate(env, LOWEST, positions)
    assert (result["positions"], result["mistakes"], result["mistake_rate"]) == (2, 1, 0.5)
    assert result["phases"]["opening"]["mistakes"] == 1
    assert result["phases"]["middle"] | {"mistake_rate_ci95": None} == {
        "plies": "3-5", "positions": 1, "mistakes": 0, "mistake_rate": 0.0,
        "mistake_rate_ci95": None,
    }  # fmt: skip
    assert result["phases"]["late"]["positions"] == 0
    assert result["phases"]["late"]["mistake_rate"] is None


def test_positions_of_another_game_are_refused():
    positions = Positions(
        "tic_tac_toe", 0, np.full((1, 9), -1), np.zeros(1, int), np.zeros((1, 9)), 1
    )
    with pytest.raises(ValueError, match="cannot test a connect_four player"):
        mistake_rate(envs.make("connect_four"), LOWEST, positions)
    with pytest.raises(ValueError, match="no mistake benchmark for go_9x9"):
        make_positions("go_9x9", 10)


def test_make_eval_reports_the_mistakes_of_an_untrained_agent(tmp_path, monkeypatch, capsys):
    """`muzero.cli.eval` but for the checkpoint and the games: the agent's own greedy search on the
    replayed observations, a table and the JSON."""
    import dataclasses
    import json

    import jax

    from configs import get_preset
    from muzero import agent
    from muzero.cli import eval as eval_cli
    from muzero.evaluation import matches as evaluation

    config = get_preset("smoke")
    config = config.replace(eval=dataclasses.replace(config.eval, num_simulations=2))
    params = jax.jit(components.build(config).model.init)(jax.random.key(0))
    monkeypatch.setattr(agent, "load_params", lambda run_dir, step, config: params)
    games = {"random/first": evaluation.summarize_outcomes(np.array([1.0, 0.0]))}
    monkeypatch.setattr(evaluation, "evaluate", lambda c, params, seed, frames: {"details": games})
    results = eval_cli.run_evaluation(tmp_path, 0, config, 0, False, mistakes=30)
    written = eval_cli.write_results(tmp_path, results)
    eval_cli.print_results(results)
    printed = capsys.readouterr().out
    assert "Mistakes against perfect play" in printed and "opening" in printed
    mistakes = json.loads(written[0].read_text())["mistakes"]
    assert mistakes["positions"] == 30 and mistakes["illegal_moves"] == 0
    assert set(mistakes["phases"]) == {"opening", "middle", "late"}
    assert "only positions where a mistake is possible" in mistakes["selection"]


def test_mistake_positions_flag():
    from muzero.cli.eval import mistake_positions

    assert mistake_positions(None, "connect_four") == 800
    assert mistake_positions(None, "tic_tac_toe") == 300
    assert mistake_positions(None, "CartPole-v1") == 0
    assert mistake_positions(0, "connect_four") == 0
    with pytest.raises(ValueError, match="needs a solved game"):
        mistake_positions(50, "go_9x9")
    with pytest.raises(ValueError, match="must be >= 0"):
        mistake_positions(-1, "tic_tac_toe")
