import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from muzero.config import NetworkConfig, SupportConfig
from muzero.model.networks import make_model, normalize_latent
from muzero.model.unroll import scale_gradient
from muzero.model.value_transforms import logits_to_scalar, make_support


@pytest.mark.parametrize(
    "env_id,torso",
    [
        ("tic_tac_toe", "mlp"),
        ("connect_four", "resnet"),
        ("connect_four", "resnet_mlp"),
        ("CartPole-v1", "mlp"),
    ],
)
def test_shapes_latent_range_and_neutral_start(env_id, torso):
    spec = envs.make(env_id).spec
    config = NetworkConfig(torso=torso, hidden_size=32, latent_size=16, channels=8, num_blocks=1)
    model = make_model(config, spec)
    params = model.init(jax.random.key(0))
    obs = jax.random.uniform(jax.random.key(1), (3, *spec.observation_shape)) > 0.5
    latent = model.represent(params, obs.astype(spec.observation_dtype))
    assert latent.shape[0] == 3
    assert float(latent.min()) >= 0.0 and float(latent.max()) <= 1.0 + 1e-6
    reward_logits, next_latent = model.dynamics(params, latent, jnp.array([0, 1, 0]))
    assert next_latent.shape == latent.shape
    policy_logits, value_logits = model.predict(params, next_latent)
    assert policy_logits.shape == (3, spec.num_actions)
    # Zero-initialised heads: uniform policy, zero value and reward before any training.
    np.testing.assert_allclose(policy_logits, 0.0)
    support = make_support(SupportConfig())
    np.testing.assert_allclose(logits_to_scalar(value_logits, support), 0.0, atol=1e-4)
    np.testing.assert_allclose(logits_to_scalar(reward_logits, support), 0.0, atol=1e-4)


def test_normalize_latent_is_per_sample_min_max():
    x = jnp.asarray([[1.0, 3.0, 2.0], [-5.0, 5.0, 0.0]])
    np.testing.assert_allclose(normalize_latent(x), [[0, 1, 0.5], [0, 1, 0.5]])


def test_scale_gradient_halves_the_gradient_only():
    f = lambda x: jnp.sum(scale_gradient(x, 0.5) ** 2)
    x = jnp.asarray([1.0, -2.0])
    assert float(f(x)) == pytest.approx(5.0)
    np.testing.assert_allclose(jax.grad(f)(x), [1.0, -2.0])  # 0.5 * 2x
