"""EfficientZero's value prefix in the model: its config, its parameters, a neutral start and the
per-step rewards recovered from consecutive prefixes."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from muzero.config import NetworkConfig, SupportConfig
from muzero.model.networks import make_model
from muzero.model.unroll import unroll
from muzero.model.value_prefix import prefix_rewards
from muzero.model.value_transforms import logits_to_scalar, make_support

SUPPORT = SupportConfig(min_value=-2.0, max_value=2.0, num_bins=9, transform=False)


def small(torso="mlp", **changes):
    return NetworkConfig(
        torso=torso, hidden_size=16, latent_size=8, channels=4, num_blocks=1,
        reward_support=SUPPORT, lstm_size=6, **changes,
    )  # fmt: skip


@pytest.mark.parametrize("field,value", [("value_prefix_horizon", -1), ("lstm_size", 0)])
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"network.{field} must be >= "):
        NetworkConfig(**{field: value})


def test_the_switch_off_leaves_the_parameters_as_they_were():
    """Off: no value-prefix parameters. On: the dynamics loses exactly its reward head, the
    value prefix has its own parameters, and every other parameter is the same array."""
    spec = envs.make("tic_tac_toe").spec
    off = jax.jit(make_model(small(), spec).init)(jax.random.key(0))
    on = jax.jit(make_model(small(value_prefix_horizon=2), spec).init)(jax.random.key(0))
    assert "value_prefix" not in off
    assert set(on) == set(off) | {"value_prefix"}
    # The reward head is the dynamics' second MLP; its trunk and latent layers stay.
    assert set(off["dynamics"]["params"]) - set(on["dynamics"]["params"]) == {"MLP_1"}
    shared = {**off, "dynamics": {"params": dict(off["dynamics"]["params"])}}
    del shared["dynamics"]["params"]["MLP_1"]
    on_shared = {k: v for k, v in on.items() if k != "value_prefix"}
    for a, b in zip(jax.tree.leaves(shared), jax.tree.leaves(on_shared), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "env_id,torso",
    # the residual torso's compile costs 10 s here; test_networks.py covers its shapes by default
    [("tic_tac_toe", "mlp"), pytest.param("connect_four", "resnet", marks=pytest.mark.slow)],
)
def test_an_untrained_model_predicts_a_zero_prefix(env_id, torso):
    spec = envs.make(env_id).spec
    model = make_model(small(torso, value_prefix_horizon=2), spec)
    params = jax.jit(model.init)(jax.random.key(0))
    observation = jax.random.bernoulli(jax.random.key(1), 0.4, (3, *spec.observation_shape))
    latent = jax.jit(model.represent)(params, observation)
    assert jax.eval_shape(model.dynamics, params, latent, jnp.zeros((3,), jnp.int32))[0] is None
    actions = jnp.zeros((3, 5), jnp.int32)
    prefix = jax.jit(lambda p: unroll(model, p, observation, actions).stacked())(params)
    prefix = prefix["reward_logits"]
    assert prefix.shape == (3, 5, SUPPORT.num_bins)
    np.testing.assert_array_equal(prefix, 0.0)  # zero logits: the support's mean, 0
    np.testing.assert_allclose(logits_to_scalar(prefix, make_support(SUPPORT)), 0.0, atol=1e-6)


def test_prefix_rewards_by_hand():
    # rewards 1..5 with horizon 2 have prefixes 1, 3 | 3, 7 | 5 (reset after steps 2 and 4).
    prefix = jnp.asarray([[1.0, 3.0, 3.0, 7.0, 5.0]])
    np.testing.assert_allclose(prefix_rewards(prefix, 2), [[1, 2, 3, 4, 5]])
    np.testing.assert_allclose(prefix_rewards(prefix[0], 5), [1, 2, 0, 4, -2])
    np.testing.assert_allclose(prefix_rewards(prefix[0], 1), prefix[0])


def test_the_lstm_size_sets_the_state():
    spec = envs.make("tic_tac_toe").spec
    config = dataclasses.replace(small(value_prefix_horizon=3), lstm_size=11)
    model = make_model(config, spec)
    params = jax.eval_shape(model.init, jax.random.key(0))
    cell, hidden = model.initial_state(4)
    assert cell.shape == hidden.shape == (4, 11)
    latent = jax.eval_shape(model.represent, params, jnp.zeros((4, *spec.observation_shape)))
    logits, (cell, hidden) = jax.eval_shape(model.value_prefix, params, latent, (cell, hidden))
    assert logits.shape == (4, SUPPORT.num_bins) and hidden.shape == (4, 11)
