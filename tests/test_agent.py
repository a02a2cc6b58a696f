"""The agent API on observations straight from gymnasium (CartPole)."""

import gymnasium as gym
import jax
import numpy as np
import pytest

import envs
from configs import get_preset
from muzero.agent import Agent
from muzero.model.networks import make_model


def test_agent_acts_on_gymnasium_cartpole_observations():
    config = get_preset("cartpole")
    spec = envs.make(config.env.id).spec
    params = make_model(config.network, spec).init(jax.random.key(0))
    agent = Agent(config, spec, params)
    env = gym.make("CartPole-v1")
    observation, _ = env.reset(seed=0)
    agent.reset()
    for _ in range(5):
        result = agent.search(observation)  # float64 numpy from gymnasium, no legal mask
        assert result.action in (0, 1)
        assert result.policy.sum() == pytest.approx(1.0, abs=1e-5)
        assert result.visit_counts.sum() == config.search.num_simulations
        action = agent.act(observation)  # the searched move, and the history advances
        assert action == result.action  # evaluation search: no root noise, same answer
        assert result.visit_counts[action] == result.visit_counts.max()
        observation, reward, terminated, truncated, _ = env.step(action)
    with pytest.raises(ValueError, match="legal_action_mask"):
        agent.act(observation, np.zeros(2, bool))
