"""The shared contract on every adapter: each pgx game and the gymnax envs we support."""

import pgx
import pytest

import envs
from envs.contract import check_env_contract

GYMNAX = [
    "CartPole-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "Asterix-MinAtar",
    "Breakout-MinAtar",
    "Freeway-MinAtar",
    "SpaceInvaders-MinAtar",
    "Seaquest-MinAtar",
]
# sparrow_mahjong has three players: refused with a clear error (test below).
# The slowest games to compile (5-20 s each) run with `make test-slow`; every other pgx game,
# the presets' among them, runs in the default suite.
SLOW_PGX = {"shogi", "animal_shogi", "chess", "gardner_chess", "backgammon", "minatar-seaquest"}
PGX = [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW_PGX else name
    for name in pgx.available_envs()
    if name != "sparrow_mahjong"
]


@pytest.mark.parametrize("env_id", PGX)
def test_pgx_contract(env_id):
    check_env_contract(envs.make(env_id), num_envs=2, num_steps=24)


@pytest.mark.parametrize("env_id", GYMNAX)
def test_gymnax_contract(env_id):
    check_env_contract(envs.make(env_id), num_envs=2, num_steps=24)


def test_two_player_reward_goes_to_the_mover():
    import jax

    env = envs.make("tic_tac_toe")
    state, ts = env.reset(jax.random.key(0))
    assert int(ts.to_play) in (0, 1)
    for action in (0, 3, 1, 4):  # X: 0, 1; O: 3, 4
        state, ts = env.step(state, action, jax.random.key(1))
    state, ts = env.step(state, 2, jax.random.key(1))  # X completes the top row
    assert bool(ts.terminated) and float(ts.reward) == 1.0


def test_more_than_two_players_is_refused_clearly():
    with pytest.raises(ValueError, match="sparrow_mahjong.*3 players"):
        envs.make("sparrow_mahjong")


def test_unknown_env_id_names_it():
    with pytest.raises(ValueError, match="no_such_game"):
        envs.make("no_such_game")
