import jax
import numpy as np

import envs
from muzero.opponents import minimax_tictactoe, random_opponent, tictactoe_move_values


def play(first, second, games, seed):
    """Outcomes for the first player: +1 win, 0 draw, -1 loss (host loop on pgx)."""
    env = envs.make("tic_tac_toe")
    step = jax.jit(env.step)
    rng = np.random.default_rng(seed)
    results = []
    for g in range(games):
        state, ts = env.reset(jax.random.key(g))
        first_player = int(ts.to_play)
        outcome = 0.0
        while not bool(ts.terminated | ts.truncated):
            mover = int(ts.to_play)
            player = first if mover == first_player else second
            obs, legal = np.asarray(ts.observation)[None], np.asarray(ts.legal_mask)[None]
            action = int(player(obs, legal, rng)[0])
            state, ts = step(state, action, jax.random.key(0))
            outcome += float(ts.reward) * (1 if mover == first_player else -1)
        results.append(np.sign(outcome))
    return np.array(results)


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


def test_perfect_player_never_loses_to_random_in_either_seat():
    assert np.all(play(minimax_tictactoe, random_opponent, 30, 0) >= 0)
    assert np.all(play(random_opponent, minimax_tictactoe, 30, 1) <= 0)


def test_perfect_players_draw():
    np.testing.assert_array_equal(play(minimax_tictactoe, minimax_tictactoe, 10, 2), 0)
