"""Your own environment, both ways in: the JAX example (examples/jax_env.py) and gymnasium
environments stepped on the host (examples/gymnasium_env.py, gymnasium's CartPole and Taxi)
meet the contract; each example trains, writes a checkpoint and loads back where nothing
but the run's preset registers its environment."""

import dataclasses
import json
import pathlib
import sys

import gymnasium
import jax
import numpy as np
import pytest

import envs
import muzero
from configs import get_preset
from envs.contract import check_env_contract, check_host_env_contract
from examples import gymnasium_env, jax_env
from muzero.config import Config, EnvConfig
from muzero.runtime import components, training


def host_env(env_id: str, num_envs: int = 4, seed: int = 0):
    return envs.make_host(EnvConfig(id=env_id), num_envs, seed)


def test_jax_example_meets_the_contract():
    env = envs.make(jax_env.ENV_ID)
    check_env_contract(env, num_envs=4, num_steps=24)
    assert not envs.is_host_env(jax_env.ENV_ID)
    assert jax_env.ENV_ID in envs.known_env_ids()


def test_gymnasium_example_meets_the_host_contract_and_gives_its_mask():
    """The corridor raises on a move into the wall, so the contract's 64 steps per copy also
    show that its mask reached the time steps."""
    env = host_env(gymnasium_env.ENV_ID)
    check_host_env_contract(env, num_steps=64)
    assert envs.is_host_env(gymnasium_env.ENV_ID)
    ts = env.reset()
    at_wall = ts.observation[:, 0] == 1  # one-hot cell 0
    np.testing.assert_array_equal(ts.legal_mask[:, gymnasium_env.LEFT], ~at_wall)
    assert ts.legal_mask[:, gymnasium_env.RIGHT].all()
    env.close()


def test_gymnasium_registry_envs_with_and_without_a_mask():
    """CartPole-v1 (Box observations, no mask: all legal, truncated at 500 apart from
    terminated) and Taxi-v4 (a Discrete state, flattened to one-hot; `info["action_mask"]`
    as the legal mask, checked against single copies reset with the same seeds)."""
    envs.register("CartPole-gymnasium-test", lambda: gymnasium.make("CartPole-v1"), host=True)
    envs.register("Taxi-gymnasium-test", lambda: gymnasium.make("Taxi-v4"), host=True)
    cartpole = host_env("CartPole-gymnasium-test")
    check_host_env_contract(cartpole, num_steps=32)
    assert cartpole.spec.observation_shape == (4,) and cartpole.spec.num_actions == 2
    assert cartpole.reset().legal_mask.all()
    cartpole.close()

    taxi = host_env("Taxi-gymnasium-test", num_envs=3, seed=5)
    check_host_env_contract(taxi, num_steps=32)
    assert taxi.spec.observation_shape == (500,) and taxi.spec.num_actions == 6
    ts = taxi.reset()
    for i in range(3):
        state, info = gymnasium.make("Taxi-v4").reset(seed=5 + i)
        assert ts.observation[i].argmax() == state and ts.observation[i].sum() == 1
        np.testing.assert_array_equal(ts.legal_mask[i], info["action_mask"].astype(bool))
    assert not ts.legal_mask.all()  # some moves are illegal at a start
    taxi.close()


def test_a_continuous_action_space_is_refused_before_anything_compiles():
    envs.register("Pendulum-gymnasium-test", lambda: gymnasium.make("Pendulum-v1"), host=True)
    config = Config(env=EnvConfig(id="Pendulum-gymnasium-test"))
    with pytest.raises(ValueError, match="Pendulum-gymnasium-test.*needs a gymnasium.spaces.Dis"):
        components.check_config(config)


def test_registering_a_built_in_id_is_refused():
    with pytest.raises(ValueError, match="taken by a built-in environment"):
        envs.register("CartPole-v1", jax_env.make_catch, host=False)
    with pytest.raises(ValueError, match="taken by a built-in environment"):
        envs.register("ALE/Mine", gymnasium_env.make_corridor, host=True)


def tiny_run(preset: str, runs_dir: pathlib.Path, evaluate: bool) -> pathlib.Path:
    """Three iterations of an example preset, a checkpoint and, with `evaluate`, a 4-episode
    evaluation (one unroll step: the update's compile time grows with K)."""
    config = get_preset(preset)
    config = config.replace(
        actor=dataclasses.replace(config.actor, num_envs=8),
        replay=dataclasses.replace(config.replay, capacity=2_048, min_size=64),
        learner=dataclasses.replace(
            config.learner, batch_size=16, unroll_steps=1, td_steps=2, updates_per_iteration=2
        ),
        eval=dataclasses.replace(config.eval, num_games=4),
        run=dataclasses.replace(
            config.run,
            time_budget_s=0.0,
            max_iterations=3,
            progress=False,
            tensorboard=False,
            runs_dir=str(runs_dir),
        ),
    )
    return training.run(config, evaluate_at_end=evaluate)


def forget_examples(monkeypatch) -> None:
    """As in a fresh process: the examples' modules not imported, their ids not registered
    (undone after the test)."""
    import examples

    for module in (jax_env, gymnasium_env):
        monkeypatch.delitem(sys.modules, module.__name__)
        monkeypatch.delattr(examples, module.__name__.rsplit(".", 1)[1])
        monkeypatch.delitem(envs._REGISTERED, module.ENV_ID)


# The JAX example's run takes the device-actor path the smoke run covers (make test-slow); the
# gymnasium one stays in the default suite for the host path and the registry's load-back.
@pytest.mark.parametrize(
    "preset", [pytest.param("example_jax", marks=pytest.mark.slow), "example_gymnasium"]
)
def test_example_trains_checkpoints_and_loads_back(preset, tmp_path, monkeypatch):
    """`make train ENV=<preset>` in miniature; then `muzero.Agent.load` where nothing has
    registered the environment: loading the run must, through its preset. The final
    evaluation runs for the host environment only (its episode loop is the new path; the
    JAX one is every gymnax preset's, and its compile would double this test's time)."""
    host = preset == "example_gymnasium"
    run_dir = tiny_run(preset, tmp_path, evaluate=host)
    assert any((run_dir / "checkpoints").iterdir())
    if host:
        assert len(json.loads((run_dir / "eval.json").read_text())["returns"]) == 4

    forget_examples(monkeypatch)
    example = jax_env if preset == "example_jax" else gymnasium_env
    assert example.ENV_ID not in envs.known_env_ids()
    agent = muzero.Agent.load(run_dir)
    assert example.ENV_ID in envs.known_env_ids()
    if example is jax_env:
        _, ts = envs.make(jax_env.ENV_ID).reset(jax.random.key(0))
        assert agent.act(ts.observation) in range(jax_env.NUM_ACTIONS)
    else:
        observation, info = gymnasium_env.make_corridor().reset(seed=0)
        only_right = np.array([False, True])  # the mask decides at the root
        assert agent.act(observation, only_right) == gymnasium_env.RIGHT


@pytest.mark.slow
@pytest.mark.parametrize(
    ("preset", "random_return", "threshold"),
    [("example_jax", -0.56, 0.9), ("example_gymnasium", -0.6, 0.7)],
)
def test_examples_learn(preset, random_return, threshold, tmp_path):
    """Each preset, as `make train ENV=<preset>` runs it, ends far above uniform random play
    (measured over 1,000 and 200 episodes) and near the best return (+1, about +0.81)."""
    config = get_preset(preset)
    config = config.replace(
        run=dataclasses.replace(config.run, progress=False, runs_dir=str(tmp_path))
    )
    run_dir = training.run(config)
    mean_return = json.loads((run_dir / "eval.json").read_text())["mean_return"]
    assert mean_return > threshold > random_return
