"""The MuZero loss (MuZero equation 1 and appendix G), a function of predictions and targets.

From each sampled observation the model is unrolled K steps along the actions actually taken
(`muzero.model.unroll`), and
    l = sum_k [ l_p(pi_k, p_k) + w_v l_v(z_k, v_k) + l_r(u_k, r_k) ]
with cross-entropy on the policy and on the two-hot encodings of the value and reward targets.
Following the paper, the losses of the K unrolled steps are scaled by 1/K so the total gradient
does not grow with K (the unroll halves the gradient entering the dynamics at each step).
Weight decay lives in the optimizer (`muzero.learning.learner`).

With a consistency weight w_c > 0, each unrolled step k >= 1 of the same episode adds
EfficientZero's temporal-consistency term (Ye et al. 2021, section 4.1):
    w_c * -cos( pred(proj(s_k)), stop_gradient(proj(h(o_{t+k}))) )
where s_k is the dynamics' latent after k steps and h(o_{t+k}) the representation of the
observation actually reached (SimSiam: one network, the target branch without gradient).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from muzero.learning.targets import UnrollTargets
from muzero.model.networks import Model
from muzero.model.unroll import Unrolled
from muzero.model.value_transforms import Support, logits_to_scalar, scalar_to_two_hot
from muzero.types import Array, Params


class LossInfo(struct.PyTreeNode):
    total: Array  # [] weighted mean loss
    policy: Array  # [] per unroll step, mean over batch
    value: Array  # []
    reward: Array  # []
    consistency: Array  # [] negative cosine per unroll step (0 when the loss is off)
    priority: Array  # [B] |z_0 - v_0|, the new replay priority
    value_error: Array  # [] mean |z_0 - v_0|


def cross_entropy(target_probs: Array, logits: Array) -> Array:
    return -jnp.sum(target_probs * jax.nn.log_softmax(logits, axis=-1), axis=-1)


def negative_cosine(x: Array, y: Array) -> Array:
    """[B, P], [B, P] -> [B] -cos(x, y), in [-1, 1]."""
    x = x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-8)
    y = y / jnp.maximum(jnp.linalg.norm(y, axis=-1, keepdims=True), 1e-8)
    return -jnp.sum(x * y, axis=-1)


def consistency_targets(params: Params, model: Model, next_observation: Array) -> Array:
    """[B, K, *O] observations -> [B, K, P] projections of their representations, without
    gradient (the SimSiam target branch)."""
    batch, steps = next_observation.shape[:2]
    flat = next_observation.reshape((batch * steps,) + next_observation.shape[2:])
    projected = model.project(params, model.represent(params, flat), False)
    return jax.lax.stop_gradient(projected.reshape(batch, steps, -1))


def muzero_loss(
    predictions: Unrolled,
    targets: UnrollTargets,
    weight: Array,
    *,
    value_support: Support,
    reward_support: Support,
    value_loss_weight: float,
    consistency_loss_weight: float = 0.0,
    consistency_target: Array | None = None,
) -> tuple[Array, LossInfo]:
    """predictions along K steps (`muzero.model.unroll`), targets [B, K(+1), ...] and
    importance weights [B] -> the weighted mean loss and its parts. The consistency term needs
    `predictions.projection` and `consistency_target` [B, K, P]."""
    t, p = targets, predictions
    num_unroll = t.actions.shape[1]
    per_sample = jnp.zeros(weight.shape)
    sums = {"policy": 0.0, "value": 0.0, "reward": 0.0, "consistency": 0.0}
    for k in range(num_unroll + 1):
        policy = cross_entropy(t.policy[:, k], p.policy_logits[k]) * t.policy_mask[:, k]
        value_target = scalar_to_two_hot(t.value[:, k], value_support)
        value = cross_entropy(value_target, p.value_logits[k]) * t.value_mask[:, k]
        step = policy + value_loss_weight * value
        if k > 0:
            reward_target = scalar_to_two_hot(t.reward[:, k], reward_support)
            reward = cross_entropy(reward_target, p.reward_logits[k - 1]) * t.reward_mask[:, k]
            step = step + reward
            sums["reward"] += jnp.mean(reward)
            if consistency_loss_weight:
                cosine = negative_cosine(p.projection[k - 1], consistency_target[:, k - 1])
                consistency = cosine * t.policy_mask[:, k]
                step = step + consistency_loss_weight * consistency
                sums["consistency"] += jnp.mean(consistency)
        step_scale = 1.0 if k == 0 else 1.0 / num_unroll
        per_sample = per_sample + step_scale * step
        sums["policy"] += jnp.mean(policy)
        sums["value"] += jnp.mean(value)

    total = jnp.mean(weight * per_sample)
    root_value = logits_to_scalar(p.value_logits[0], value_support)
    error = jnp.abs(t.value[:, 0] - root_value)
    info = LossInfo(
        total=total,
        policy=sums["policy"] / (num_unroll + 1),
        value=sums["value"] / (num_unroll + 1),
        reward=sums["reward"] / num_unroll,
        consistency=jnp.asarray(sums["consistency"] / num_unroll),
        priority=jax.lax.stop_gradient(error),
        value_error=jnp.mean(jax.lax.stop_gradient(error)),
    )
    return total, info
