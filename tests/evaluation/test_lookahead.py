"""The imagined-against-real lookahead players (`muzero.evaluation.lookahead`) on tic-tac-toe."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from configs import get_preset
from muzero.evaluation.lookahead import make_scorers
from muzero.evaluation.mistakes import make_positions, replay_positions
from muzero.model.networks import make_model


@pytest.mark.parametrize("value_prefix_horizon", [0, 2])
def test_untrained_model_real_children_take_every_immediate_win(value_prefix_horizon):
    """Untrained heads predict value and reward (or value prefix) 0: the prior and the imagined
    lookahead see no difference between moves and play the first legal one, while the real
    lookahead reads the true reward of each child and so takes a win whenever one is there."""
    config = get_preset("smoke")
    network = dataclasses.replace(config.network, value_prefix_horizon=value_prefix_horizon)
    config = config.replace(network=network)
    env = envs.make("tic_tac_toe")
    model = make_model(config.network, env.spec)
    params = model.init(jax.random.key(0))
    positions = make_positions("tic_tac_toe", 120)
    state, ts = replay_positions(env, positions.moves)
    scorers = make_scorers(env, model, config)
    chosen = {name: np.asarray(f(params, state, ts)) for name, f in scorers.items()}
    legal = np.asarray(ts.legal_mask)
    first_legal = np.argmax(legal, axis=1)
    np.testing.assert_array_equal(chosen["prior"], first_legal)
    np.testing.assert_array_equal(chosen["imagined"], first_legal)

    keys = jax.random.split(jax.random.key(0), legal.shape[0])
    wins = np.stack([
        np.asarray(jax.vmap(env.step)(state, jnp.full(keys.shape[:1], a), keys)[1].reward) > 0
        for a in range(env.spec.num_actions)
    ], axis=1) & legal  # fmt: skip
    can_win = wins.any(axis=1)
    assert can_win.sum() >= 10  # the test means something
    assert wins[can_win, chosen["real"][can_win]].all()
    assert not wins[can_win, chosen["imagined"][can_win]].all()
