import jax
import numpy as np
import pytest

import envs
from muzero.evaluation.matches import play_match
from muzero.evaluation.opponents import (
    OpponentError,
    best_move,
    check_opponent_name,
    connect_four_grid,
    make_opponent,
    minimax_tictactoe,
    observation_player,
    perfect_connect_four,
    random_opponent,
    tictactoe_move_values,
)


def test_move_values_by_hand():
    # Mover has X at 0 and 1; the other has O at 3 and 4. Playing 2 wins at once (+1);
    # 5 blocks O's row and draws with best play (0); anything else lets O win at 5 (-1).
    obs = np.zeros((3, 3, 2), bool)
    obs.reshape(9, 2)[[0, 1], 0] = True
    obs.reshape(9, 2)[[3, 4], 1] = True
    values = tictactoe_move_values(obs)
    assert values[2] == 1
    assert values[5] == 0
    assert values[6] == values[7] == values[8] == -1
    assert values[0] == -2  # occupied


@pytest.fixture(scope="module")
def tictactoe():
    return envs.make("tic_tac_toe")


def test_perfect_player_never_loses_to_random_in_either_seat(tictactoe):
    perfect, rand = observation_player(minimax_tictactoe), observation_player(random_opponent)
    assert np.all(play_match(tictactoe, perfect, rand, 30, 0) >= 0)
    assert np.all(play_match(tictactoe, rand, perfect, 30, 1) <= 0)
    np.testing.assert_array_equal(play_match(tictactoe, perfect, perfect, 10, 2), 0)


@pytest.fixture(scope="module")
def reference_mcts():
    return make_opponent("mcts-256", "tic_tac_toe")


GAMES = 16  # one batch size throughout, so the reference search compiles once


def test_reference_mcts_never_loses_to_random_and_draws_perfect_play(tictactoe, reference_mcts):
    rand, perfect = make_opponent("random", "tic_tac_toe"), make_opponent("minimax", "tic_tac_toe")
    assert np.all(play_match(tictactoe, reference_mcts, rand, GAMES, 0) >= 0)
    assert np.all(play_match(tictactoe, rand, reference_mcts, GAMES, 1) <= 0)
    np.testing.assert_array_equal(play_match(tictactoe, reference_mcts, perfect, GAMES, 2), 0)


def test_reference_mcts_takes_a_win_in_one(reference_mcts):
    """It searches pgx's state: with X on 0 and 1, O on 3 and 4 and X to move, X plays 2."""
    import jax.numpy as jnp
    import pgx

    game = pgx.make("tic_tac_toe")
    state = game.init(jax.random.key(0))
    for action in (0, 3, 1, 4):
        state = game.step(state, jnp.int32(action))
    batch = jax.tree.map(lambda x: jnp.stack([x] * GAMES), state)
    active = np.ones(GAMES, bool)
    actions = reference_mcts(batch, None, active, np.random.default_rng(0))
    np.testing.assert_array_equal(actions, 2)


@pytest.fixture(scope="module")
def connect_four():
    return envs.make("connect_four")


def after(env, moves):
    """(observation, legal mask) of pgx's connect four after `moves`."""
    state, ts = jax.jit(env.reset)(jax.random.key(0))
    step = jax.jit(env.step)  # the same function each call: compiled once per env
    for move in moves:
        state, ts = step(state, jax.numpy.int32(move), jax.random.key(0))
    return np.asarray(ts.observation), np.asarray(ts.legal_mask)


def test_connect_four_grid_is_bitbully_board_of_the_same_moves(connect_four):
    """Rows, planes and seats: pgx's observation gives the board bitbully builds from the moves,
    whichever player is to move."""
    from bitbully import Board

    moves = [3, 3, 2, 4, 6, 0, 0, 5, 3]
    for ply in (0, 1, 4, 7, 9):
        observation, _ = after(connect_four, moves[:ply])
        assert Board(connect_four_grid(observation).tolist()) == Board(moves[:ply])


def test_perfect_connect_four_wins_blocks_and_avoids_full_columns(connect_four):
    rngs = [np.random.default_rng(seed) for seed in range(5)]
    # The mover has 0, 1 and 2 on the bottom row: 3 wins at once.
    observation, legal = after(connect_four, [0, 6, 1, 6, 2, 5])
    assert {int(perfect_connect_four(observation[None], legal[None], r)[0]) for r in rngs} == {3}
    # The other threatens 3 on the bottom row: anything else loses at once.
    observation, legal = after(connect_four, [0, 6, 1, 6, 2])
    assert {int(perfect_connect_four(observation[None], legal[None], r)[0]) for r in rngs} == {3}
    # Column 3 is full; the solver's best column on an empty board is 3.
    observation, legal = after(connect_four, [3, 3, 3, 3, 3, 3])
    assert not legal[3]
    assert all(legal[perfect_connect_four(observation[None], legal[None], r)[0]] for r in rngs)


def test_perfect_breaks_ties_at_random():
    scores, legal = np.array([1, 1, 0, 5]), np.array([True, True, True, False])
    picks = {best_move(scores, legal, np.random.default_rng(seed)) for seed in range(20)}
    assert picks == {0, 1}


def test_perfect_connect_four_never_loses_to_random(connect_four):
    perfect, rand = (
        make_opponent("perfect", "connect_four"),
        make_opponent("random", "connect_four"),
    )
    # Connect four is a first-player win: moving first, perfect play wins every game.
    np.testing.assert_array_equal(play_match(connect_four, perfect, rand, 4, 0), 1)
    assert np.all(play_match(connect_four, rand, perfect, 4, 1) <= 0)


def test_perfect_names_the_games_it_can_play():
    check_opponent_name("perfect", "connect_four", True)
    check_opponent_name("perfect", "tic_tac_toe", True)  # minimax by another name
    with pytest.raises(OpponentError, match="'perfect' needs a solver.*not for go_9x9"):
        check_opponent_name("perfect", "go_9x9", True)
    with pytest.raises(OpponentError, match="unknown opponent 'perfekt'.*perfect"):
        check_opponent_name("perfekt", "connect_four", True)
    from muzero.config import EvalConfig

    EvalConfig(opponents=("random", "perfect"))
    with pytest.raises(ValueError, match="eval.opponents"):
        EvalConfig(opponents=("perfekt",))


def write_plugin(tmp_path, monkeypatch, name, body):
    """A plug-in module in its own folder; each test uses its own module name (imports cache)."""
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))


def test_plugin_opponent_plays_through_its_function(tmp_path, monkeypatch, tictactoe):
    write_plugin(
        tmp_path,
        monkeypatch,
        "my_bot",
        "import numpy as np\n"
        "calls = []\n"
        "def first_legal(observation, legal_action_mask):\n"
        "    calls.append(observation.shape)\n"
        "    return int(np.flatnonzero(legal_action_mask)[0])\n",
    )
    bot = make_opponent("my_bot:first_legal", "tic_tac_toe")
    rand = make_opponent("random", "tic_tac_toe")
    outcomes = play_match(tictactoe, bot, rand, 6, 0)
    import my_bot

    assert outcomes.shape == (6,) and my_bot.calls and set(my_bot.calls) == {(3, 3, 2)}


def test_plugin_loader_names_what_is_missing(tmp_path, monkeypatch):
    write_plugin(
        tmp_path, monkeypatch, "zero_bot", "def bot(observation, legal_mask):\n    return 0\n"
    )
    with pytest.raises(OpponentError, match="no module named 'no_such_bot'"):
        make_opponent("no_such_bot:play", "tic_tac_toe")
    with pytest.raises(OpponentError, match="module 'zero_bot' has no 'nope'"):
        make_opponent("zero_bot:nope", "tic_tac_toe")
    with pytest.raises(OpponentError, match="unknown opponent 'alphabeta'"):
        check_opponent_name("alphabeta", "tic_tac_toe", True)
    with pytest.raises(OpponentError, match="only plays tic_tac_toe"):
        check_opponent_name("minimax", "connect_four", True)
    with pytest.raises(OpponentError, match="not pgx"):
        check_opponent_name("mcts", "CartPole-v1", False)


def test_plugin_returning_an_illegal_move_is_named(tmp_path, monkeypatch, tictactoe):
    write_plugin(
        tmp_path, monkeypatch, "bad_bot", "def bot(observation, legal_mask):\n    return 99\n"
    )
    bot = make_opponent("bad_bot:bot", "tic_tac_toe")
    with pytest.raises(OpponentError, match="returned 99, not a legal action"):
        play_match(tictactoe, bot, bot, 2, 0)


def test_plugin_failing_on_import_or_in_play_is_one_opponent_error(
    tmp_path, monkeypatch, tictactoe
):
    """The plug-in's own code raising (when imported, or when asked for a move) is an
    OpponentError whose one line names the plug-in and the exception, not a traceback."""
    write_plugin(tmp_path, monkeypatch, "broken_bot", "raise RuntimeError('no weights\\nhere')\n")
    with pytest.raises(OpponentError) as error:
        make_opponent("broken_bot:play", "tic_tac_toe")
    message = str(error.value)
    assert "importing 'broken_bot' raised RuntimeError: no weights here" in message
    assert "\n" not in message
    write_plugin(
        tmp_path,
        monkeypatch,
        "raising_bot",
        "def bot(observation, legal_mask):\n    raise KeyError('lost')\n",
    )
    bot = make_opponent("raising_bot:bot", "tic_tac_toe")
    with pytest.raises(OpponentError, match="opponent 'raising_bot:bot' raised KeyError: 'lost'"):
        play_match(tictactoe, bot, bot, 2, 0)
