"""The MuZero loss (equation 1, appendix G) against a by-hand numpy version of the same sums."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from batches import loss_of, random_batch

import envs
from muzero.config import NetworkConfig, SupportConfig
from muzero.model.networks import make_model
from muzero.model.value_transforms import logits_to_scalar, make_support

POINTS = np.linspace(-1.0, 1.0, 5)  # the support below, without the h-transform


def two_hot(x: float) -> np.ndarray:
    """Probability split between the two neighbouring support points, by hand."""
    out = np.zeros(len(POINTS))
    i = min(int(np.searchsorted(POINTS, x, side="right")) - 1, len(POINTS) - 2)
    upper = (x - POINTS[i]) / (POINTS[i + 1] - POINTS[i])
    out[i], out[i + 1] = 1.0 - upper, upper
    return out


def cross_entropy(p: np.ndarray, logits: np.ndarray) -> float:
    z = logits - logits.max()
    return float(-(p * (z - np.log(np.exp(z).sum()))).sum())


@pytest.fixture(scope="module")
def parts():
    spec = envs.make("tic_tac_toe").spec
    unit = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=5, transform=False)
    model = make_model(
        NetworkConfig(hidden_size=16, latent_size=8, value_support=unit, reward_support=unit),
        spec,
    )
    params = model.init(jax.random.key(0))
    # Move the zero-initialised heads off zero so that every term depends on the targets.
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(1), len(leaves))
    params = jax.tree.unflatten(
        tree, [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    )
    return spec, model, params, make_support(unit)


def by_hand(model, params, batch, value_weight):
    t = jax.tree.map(np.asarray, batch.targets)
    num_unroll = t.actions.shape[1]
    latent = model.represent(params, batch.observation)
    per_sample = np.zeros(len(batch.weight))
    reward_logits = None
    for k in range(num_unroll + 1):
        if k:
            reward_logits, latent = model.dynamics(params, latent, batch.targets.actions[:, k - 1])
        policy_logits, value_logits = (np.asarray(x) for x in model.predict(params, latent))
        for b in range(len(per_sample)):
            step = t.policy_mask[b, k] * cross_entropy(t.policy[b, k], policy_logits[b])
            step += (
                value_weight
                * t.value_mask[b, k]
                * cross_entropy(two_hot(t.value[b, k]), value_logits[b])
            )
            if k:
                step += t.reward_mask[b, k] * cross_entropy(
                    two_hot(t.reward[b, k]), np.asarray(reward_logits)[b]
                )
            per_sample[b] += step * (1.0 if k == 0 else 1.0 / num_unroll)
    return float(np.mean(np.asarray(batch.weight) * per_sample))


@pytest.mark.parametrize("value_weight", [1.0, 0.25])
def test_total_is_the_masked_importance_weighted_sum_with_unrolled_steps_scaled_by_one_over_k(
    parts, value_weight
):
    spec, model, params, support = parts
    batch = random_batch(spec)
    total, _ = loss_of(params, model, batch, support, value_weight)
    assert float(total) == pytest.approx(by_hand(model, params, batch, value_weight), rel=1e-5)


def test_steps_past_the_end_change_nothing(parts):
    """Masked targets (past the episode's end) may hold anything: the loss ignores them."""
    spec, model, params, support = parts
    batch = random_batch(spec)
    t = batch.targets
    garbage = batch._replace(
        targets=t.replace(
            value=jnp.where(t.value_mask > 0, t.value, 0.9),
            reward=jnp.where(t.reward_mask > 0, t.reward, -0.7),
            policy=jnp.where(t.policy_mask[..., None] > 0, t.policy, 1.0 / spec.num_actions),
        )
    )
    a, _ = loss_of(params, model, batch, support, 1.0)
    b, _ = loss_of(params, model, garbage, support, 1.0)
    assert float(a) == pytest.approx(float(b), rel=1e-6)


def test_priorities_are_the_root_value_errors(parts):
    spec, model, params, support = parts
    batch = random_batch(spec)
    _, info = loss_of(params, model, batch, support, 1.0)
    value = logits_to_scalar(model.predict(params, model.represent(params, batch.observation))[1],
                             support)  # fmt: skip
    expected = np.abs(np.asarray(batch.targets.value[:, 0]) - np.asarray(value))
    np.testing.assert_allclose(info.priority, expected, rtol=1e-5, atol=1e-6)
    assert float(info.value_error) == pytest.approx(float(expected.mean()), rel=1e-5)
