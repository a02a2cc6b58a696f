"""Hand-made learner batches shared by the loss tests (imported as `batches`)."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from muzero.learning.losses import consistency_targets, muzero_loss
from muzero.learning.targets import UnrollTargets
from muzero.model.unroll import unroll


class LossBatch(NamedTuple):
    observation: jax.Array  # [B, *O]
    targets: UnrollTargets  # [B, K(+1), ...]
    weight: jax.Array  # [B]
    next_observation: jax.Array | None = None  # [B, K, *O]


def random_batch(spec, num_unroll=3, batch=4):
    """Random targets with random masks (offset 0 always counted) and unequal weights."""
    k = jax.random.split(jax.random.key(7), 8)
    shape = (batch, num_unroll + 1)
    mask = (jax.random.uniform(k[0], shape) > 0.3).astype(jnp.float32).at[:, 0].set(1.0)
    targets = UnrollTargets(
        actions=jax.random.randint(k[1], (batch, num_unroll), 0, spec.num_actions),
        value=jax.random.uniform(k[2], shape, minval=-1.0, maxval=1.0),
        value_mask=mask,
        reward=jax.random.uniform(k[3], shape, minval=-1.0, maxval=1.0).at[:, 0].set(0.0),
        reward_mask=(jax.random.uniform(k[4], shape) > 0.3).astype(jnp.float32).at[:, 0].set(0),
        policy=jax.nn.softmax(jax.random.normal(k[5], (*shape, spec.num_actions))),
        policy_mask=(jax.random.uniform(k[6], shape) > 0.3).astype(jnp.float32),
    )
    observation = jax.random.bernoulli(k[7], 0.3, (batch, *spec.observation_shape))
    weight = jnp.asarray([0.5, 1.0, 2.0, 0.25])[:batch]
    return LossBatch(observation, targets, weight)


def episode_batch(spec, num_unroll, alive):
    """Four positions whose unrolled steps are all in the episode (alive) or all past its
    end, with the observations of the next K records for the consistency loss."""
    k = jax.random.split(jax.random.key(3), 3)
    obs = jax.random.bernoulli(k[0], 0.3, (4, *spec.observation_shape))
    later = jax.random.bernoulli(k[1], 0.3, (4, num_unroll, *spec.observation_shape))
    mask = jnp.ones((4, num_unroll + 1)).at[:, 1:].set(1.0 if alive else 0.0)
    targets = UnrollTargets(
        actions=jax.random.randint(k[2], (4, num_unroll), 0, spec.num_actions),
        value=jnp.zeros((4, num_unroll + 1)),
        value_mask=mask,
        reward=jnp.zeros((4, num_unroll + 1)),
        reward_mask=mask,
        policy=jnp.ones((4, num_unroll + 1, spec.num_actions)) / spec.num_actions,
        policy_mask=mask,
    )
    return LossBatch(obs, targets, jnp.ones(4), later)


def loss_of(params, model, batch, support, value_weight=1.0, consistency=0.0):
    """The learner's loss on a batch: unroll the model along its actions, then `muzero_loss`."""
    predictions = unroll(
        model, params, batch.observation, batch.targets.actions, project=consistency > 0
    )
    target = consistency_targets(params, model, batch.next_observation) if consistency else None
    return muzero_loss(
        predictions,
        batch.targets,
        batch.weight,
        value_support=support,
        reward_support=support,
        value_loss_weight=value_weight,
        consistency_loss_weight=consistency,
        consistency_target=target,
    )
