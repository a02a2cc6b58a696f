"""Tactical positions: the rules-based classifier by hand and against an independent check, and
the report on an untrained model, whose zero predictions give known errors."""

import dataclasses
import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from configs import get_preset
from muzero.evaluation.tactics import (
    BOARD_GAMES,
    classify,
    make_random_play,
    select,
    skip_reason,
    tactics_report,
)
from muzero.model.networks import make_model
from muzero.replay.history import network_spec
from muzero.search.policy import make_search_fn


@functools.cache
def game(env_id):
    """(env, jitted step, jitted classify): eager pgx steps dispatch op by op (slow)."""
    env = envs.make(env_id)
    return env, jax.jit(env.step), jax.jit(lambda state, legal: classify(env, state, legal))


@functools.cache
def random_play(seed):
    """Every position of 64 random tic-tac-toe games, classified (numpy)."""
    env = envs.make("tic_tac_toe")
    play = make_random_play(env, get_preset("smoke"), 64, BOARD_GAMES["tic_tac_toe"])
    return jax.device_get(jax.jit(play)(jax.random.key(seed)))


def position(env_id, moves):
    """The classification of the position reached by replaying `moves` from the start."""
    env, step, classify_jit = game(env_id)
    state, ts = env.reset(jax.random.key(0))
    for move in moves:
        assert ts.legal_mask[move] and not ts.terminated
        state, ts = step(state, jnp.int32(move), jax.random.key(0))
    return jax.device_get(classify_jit(state, ts.legal_mask))


# (game, moves from the start, winning moves, the forced block or None)
CASES = [
    # X has three in column 0 and moves: it wins there (O's threat in column 1 does not matter).
    ("connect_four", [0, 1, 0, 1, 0, 1], {0}, None),
    # O to move against X's three in column 0: only column 0 saves the game.
    ("connect_four", [0, 1, 0, 1, 0], set(), 0),
    # X's open three on the bottom row threatens columns 0 and 4: lost, no saving move.
    ("connect_four", [1, 1, 2, 2, 3], set(), None),
    ("connect_four", [], set(), None),
    ("connect_four", [3, 3, 2], set(), None),
    # X (0, 1) to move also faces O's threat (3, 4): it wins at 2.
    ("tic_tac_toe", [0, 3, 1, 4], {2}, None),
    # X has 0, 1 and 4: three winning cells.
    ("tic_tac_toe", [0, 3, 1, 6, 4, 5], {2, 7, 8}, None),
    ("tic_tac_toe", [0, 3, 1], set(), 2),
    # X threatens 3 (column 0-3-6) and 7 (row 6-7-8): O cannot stop both.
    ("tic_tac_toe", [0, 4, 8, 2, 6], set(), None),
    ("tic_tac_toe", [4], set(), None),
    ("tic_tac_toe", [4, 0], set(), None),
]


@pytest.mark.parametrize("env_id, moves, wins, block", CASES)
def test_classifier_on_hand_built_positions(env_id, moves, wins, block):
    t = position(env_id, moves)
    assert set(np.flatnonzero(t.wins)) == wins
    assert bool(t.immediate_win) == bool(wins)
    assert bool(t.forced_block) == (block is not None)
    assert set(np.flatnonzero(t.block)) == ({block} if block is not None else set())
    if block is not None:  # every other legal move loses at once
        assert set(np.flatnonzero(t.loses)) == set(np.flatnonzero(t.legal_mask)) - {block}
    if not wins and block is None and len(moves) < 3:  # quiet: nothing loses yet
        assert not t.loses.any()


LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def completes(marks, cell):
    """True if putting a mark on `cell` completes a line of `marks` (a set of cells)."""
    return any(cell in line and set(line) - {cell} <= marks for line in LINES)


def test_classifier_agrees_with_tic_tac_toe_lines_on_random_play():
    """Independent check on every position of 64 random games, from the observation alone
    (pgx: channel 0 holds the mover's marks, channel 1 the opponent's)."""
    observation, tactics, valid = random_play(0)
    checked = {"win": 0, "block": 0}
    for t, g in itertools.product(range(observation.shape[0]), range(observation.shape[1])):
        if not valid[t, g]:
            continue
        board = observation[t, g].reshape(9, 2)
        mine, theirs = set(np.flatnonzero(board[:, 0])), set(np.flatnonzero(board[:, 1]))
        empty = set(range(9)) - mine - theirs
        wins = {c for c in empty if completes(mine, c)}
        threats = {c for c in empty if completes(theirs, c)}
        # After a non-winning move a, the opponent wins at once iff a threat survives a.
        loses = {a for a in empty - wins if threats - {a}}
        assert set(np.flatnonzero(tactics.wins[t, g])) == wins
        assert set(np.flatnonzero(tactics.loses[t, g])) == loses
        forced = not wins and len(threats) == 1 and len(empty) > 1
        assert bool(tactics.forced_block[t, g]) == forced
        if forced:
            assert set(np.flatnonzero(tactics.block[t, g])) == threats
        checked["win"] += bool(wins)
        checked["block"] += forced
    assert checked["win"] > 20 and checked["block"] > 20


def test_select_keeps_distinct_positions_of_one_kind_capped():
    observation, tactics, valid = random_play(0)
    chosen_obs, chosen = select(observation, tactics, valid, "forced_block", 1000, seed=0)
    assert chosen.forced_block.all() and len(chosen_obs) > 0
    distinct = np.unique(chosen_obs.reshape(len(chosen_obs), -1), axis=0)
    assert len(distinct) == len(chosen_obs)
    flagged = observation[valid & tactics.forced_block]
    assert len(chosen_obs) == len(np.unique(flagged.reshape(len(flagged), -1), axis=0))
    capped, _ = select(observation, tactics, valid, "forced_block", 5, seed=0)
    assert len(capped) == 5


@pytest.mark.parametrize("value_prefix_horizon", [0, 1])
def test_report_on_an_untrained_model(value_prefix_horizon):
    """Zero-initialised heads predict value and reward 0 and a uniform policy: the winning
    move's reward and the root value are off by 1, the absorbing value is right, and the prior
    on the key move is chance. A value-prefix model's rewards (prefix differences, the reply's
    after a reset with horizon 1) are 0 as well."""
    config = get_preset("smoke")
    network = dataclasses.replace(config.network, value_prefix_horizon=value_prefix_horizon)
    config = config.replace(network=network)
    env = envs.make(config.env.id)
    spec = network_spec(env.spec, config)
    model = make_model(config.network, spec)
    params = model.init(jax.random.key(0))
    search = make_search_fn(model, config, spec, evaluation=True)
    report = tactics_report(env, model, config, params, search, games=64, cap=20, seed=1)
    win, block = report["immediate_win"], report["forced_block"]
    assert win["positions"] == 20 and block["positions"] == 20
    for name in ("move_reward_mae", "root_value_mae"):
        assert win[name] == pytest.approx(1.0, abs=1e-4), name
    assert win["move_reward_above_half"] == 0.0
    assert win["after_move_value_mae"] == pytest.approx(0.0, abs=1e-4)
    assert win["other_reward_mae"] == pytest.approx(0.0, abs=1e-4)
    for name in ("threat_value_mae", "threat_reward_mae"):
        assert block[name] == pytest.approx(1.0, abs=1e-4), name
    for kind in (win, block):
        assert kind["move_prior"] == pytest.approx(kind["chance"], abs=1e-4)
        assert 0.0 < kind["chance"] < 1.0 and 0.0 <= kind["search_plays"] <= 1.0
    assert "move_reward_mae" not in block and "threat_value_mae" not in win


def test_single_player_and_other_games_are_skipped():
    cartpole = get_preset("cartpole")
    env = envs.make(cartpole.env.id)
    report = tactics_report(env, None, cartpole, None, None)
    assert "not a board game" in report["skipped"]
    assert "connect_four" in skip_reason("go_9x9", two_player=True)
    assert skip_reason("connect_four", two_player=True) is None
