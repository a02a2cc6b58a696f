"""The learned model unrolled K steps along actions actually taken (MuZero appendix G).

From each observation the representation gives the first latent; each of the K steps feeds the
dynamics one action and the prediction function the latent it returns. The learner's loss, the
consistency loss and the diagnostics all read the model through this one function.

The steps are a Python loop over the static K rather than a `lax.scan`: on XLA:CPU a
convolution's backward pass inside a `while` loop runs some 30x slower than the same
computation outside one (../shared/STACK_NOTES.md), and K is small, so unrolling costs only
compile time.

A value-prefix model (EfficientZero section 4.2) runs its LSTM along the unrolled latents from a
zero state at the root and resets it after every `horizon` steps, so `reward_logits[k]` holds
the value prefix of step k+1 and the loss compares it with the prefix targets
(`muzero.learning.targets`) exactly as it compares per-step rewards.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from muzero.model.networks import Model
from muzero.types import Array, Params

# MuZero appendix G: the gradient entering the dynamics function at each step is halved, so the
# total gradient through the recurrent path stays the same whatever K is.
DYNAMICS_GRADIENT_SCALE = 0.5


class Unrolled(struct.PyTreeNode):
    """The model's predictions along K actions from B observations, one entry per step.

    Per-step tuples rather than arrays stacked over K: the loss reads them step by step, and
    stacking measurably changed XLA's fusion of the update (the learned parameters differed in
    their last bits). `stacked` gives the [B, K(+1), ...] arrays for readers that want them.
    """

    policy_logits: tuple[Array, ...]  # K+1 of [B, A]
    value_logits: tuple[Array, ...]  # K+1 of [B, S_value]
    # K of [B, S_reward]; entry k predicts action k's reward, or with a value prefix the sum of
    # the rewards of actions since the last reset up to and including action k.
    reward_logits: tuple[Array, ...]
    # K of [B, P]: the online projection of the latents after steps 1..K (EfficientZero's
    # consistency loss), or None when not asked for.
    projection: tuple[Array, ...] | None = None

    def stacked(self) -> dict[str, Array]:
        """The predictions as arrays over steps: policy_logits [B, K+1, A], value_logits
        [B, K+1, S_value], reward_logits [B, K, S_reward] (and projection [B, K, P])."""
        fields = {"policy_logits": self.policy_logits, "value_logits": self.value_logits}
        fields["reward_logits"] = self.reward_logits
        if self.projection is not None:
            fields["projection"] = self.projection
        return {name: jnp.stack(steps, axis=1) for name, steps in fields.items()}


def scale_gradient(x: Array, scale: float) -> Array:
    """Identity forward; multiplies the gradient by `scale` backward (MuZero appendix G)."""
    return jax.tree.map(lambda t: t * scale + jax.lax.stop_gradient(t) * (1.0 - scale), x)


def unroll(
    model: Model, params: Params, observation: Array, actions: Array, *, project: bool = False
) -> Unrolled:
    """observation [B, *O], actions [B, K] -> the model's predictions along them.

    With `project`, also the online projection of each unrolled latent (the model must have
    projection heads)."""
    latent = model.represent(params, observation)
    policy_logits, value_logits = model.predict(params, latent)
    policies, values, rewards, projections = [policy_logits], [value_logits], [], []
    horizon = model.prefix_horizon
    state = model.initial_state(actions.shape[0]) if horizon else None
    for k in range(actions.shape[1]):
        reward_logits, latent = model.dynamics(params, latent, actions[:, k])
        if horizon:
            # The LSTM reads the latent before the gradient scaling, as the per-step reward head
            # reads the dynamics' trunk (EfficientZero's LSTM is part of its dynamics network).
            reward_logits, state = model.value_prefix(params, latent, state)
            if (k + 1) % horizon == 0:  # EfficientZero resets every lstm_horizon_len steps
                state = model.initial_state(actions.shape[0])
        latent = scale_gradient(latent, DYNAMICS_GRADIENT_SCALE)
        policy_logits, value_logits = model.predict(params, latent)
        policies.append(policy_logits)
        values.append(value_logits)
        rewards.append(reward_logits)
        if project:
            projections.append(model.project(params, latent, True))
    return Unrolled(
        policy_logits=tuple(policies),
        value_logits=tuple(values),
        reward_logits=tuple(rewards),
        projection=tuple(projections) if project else None,
    )
