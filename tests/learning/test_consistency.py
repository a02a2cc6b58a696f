"""EfficientZero's temporal-consistency loss: its targets, heads, masking and stop-gradient."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from batches import episode_batch, loss_of

import envs
from configs import get_preset
from muzero.config import NetworkConfig, SupportConfig
from muzero.learning.losses import consistency_targets, negative_cosine
from muzero.model.networks import make_model
from muzero.model.value_transforms import make_support


def test_negative_cosine_by_hand():
    x = jnp.asarray([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [3.0, 4.0]])
    y = jnp.asarray([[2.0, 0.0], [0.0, 5.0], [-1.0, 0.0], [4.0, 3.0]])
    np.testing.assert_allclose(negative_cosine(x, y), [-1.0, 0.0, 1.0, -24 / 25], rtol=1e-6)


def test_projection_heads_exist_only_when_asked():
    """Plane latents (resnet) are flattened by the projection; vector latents are in the loss
    tests below."""
    spec = envs.make("connect_four").spec
    base = NetworkConfig(torso="resnet", hidden_size=16, latent_size=8, channels=4, num_blocks=1)
    assert make_model(base, spec).project is None
    assert "projection" not in jax.eval_shape(make_model(base, spec).init, jax.random.key(0))
    model = make_model(dataclasses.replace(base, projection_size=12), spec)
    params = jax.jit(model.init)(jax.random.key(0))
    latent = model.represent(params, jnp.zeros((5, *spec.observation_shape), bool))
    assert model.project(params, latent, True).shape == (5, 12)
    assert model.project(params, latent, False).shape == (5, 12)


@pytest.fixture(scope="module")
def parts():
    spec = envs.make("tic_tac_toe").spec
    unit = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=5, transform=False)
    config = NetworkConfig(
        hidden_size=16, latent_size=8, projection_size=6, value_support=unit, reward_support=unit
    )
    model = make_model(config, spec)
    return spec, model, model.init(jax.random.key(0)), make_support(unit)


def test_consistency_loss_is_the_mean_negative_cosine_of_the_unrolled_latents(parts):
    spec, model, params, support = parts
    batch = episode_batch(spec, 2, alive=True)
    _, info = loss_of(params, model, batch, support, 1.0, 2.0)
    latent = model.represent(params, batch.observation)
    expected = []
    for k in range(2):
        _, latent = model.dynamics(params, latent, batch.targets.actions[:, k])
        target = model.project(params, model.represent(params, batch.next_observation[:, k]), False)
        expected.append(negative_cosine(model.project(params, latent, True), target).mean())
    assert float(info.consistency) == pytest.approx(float(np.mean(expected)), rel=1e-5)
    plain_total, _ = loss_of(params, model, batch, support, 1.0, 0.0)
    total, _ = loss_of(params, model, batch, support, 1.0, 2.0)
    # each step's term is scaled by 1/K like the other unrolled losses, then by the weight.
    assert float(total - plain_total) == pytest.approx(2.0 * float(np.sum(expected)) / 2, rel=1e-4)


def test_consistency_is_masked_past_the_episode_end(parts):
    spec, model, params, support = parts
    batch = episode_batch(spec, 2, alive=False)
    with_it, info = loss_of(params, model, batch, support, 1.0, 2.0)
    without, _ = loss_of(params, model, batch, support, 1.0, 0.0)
    assert float(info.consistency) == 0.0
    assert float(with_it) == pytest.approx(float(without))


def test_no_gradient_flows_through_the_target_branch(parts):
    spec, model, params, _ = parts
    later = jax.random.bernoulli(jax.random.key(1), 0.3, (3, 2, *spec.observation_shape))
    grads = jax.grad(lambda p: jnp.sum(consistency_targets(p, model, later) ** 2))(params)
    assert all(float(jnp.abs(g).max()) == 0.0 for g in jax.tree.leaves(grads))


def test_a_consistency_weight_without_projection_heads_is_refused():
    config = get_preset("smoke")
    with pytest.raises(ValueError, match="learner.consistency_loss_weight.*projection_size"):
        config.replace(learner=dataclasses.replace(config.learner, consistency_loss_weight=2.0))
