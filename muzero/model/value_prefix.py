"""EfficientZero's value prefix (Ye et al. 2021, section 4.2).

Instead of each step's reward, an LSTM over the unrolled latents s_1, s_2, ... predicts at step
k the value prefix, the sum of the rewards r_0 + ... + r_{k-1} since its state was last reset;
the state is reset to zeros every `horizon` steps (EfficientZero: 5). The paper's argument: a
single latent rarely tells when a reward arrives, so per-step reward predictions are noisy
("state aliasing"), while a sum over a few steps is not. The search recovers the reward of an
edge as the difference of consecutive prefixes (`prefix_rewards`, and the search's recurrent
function one node at a time).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from muzero.types import Array

LSTMState = tuple[Array, Array]  # (cell c, hidden h), each [B, lstm_size]


def zero_lstm_state(batch: int, size: int) -> LSTMState:
    """The LSTM state at the root and after every reset: zeros, 2 of [batch, size]."""
    return jnp.zeros((batch, size), jnp.float32), jnp.zeros((batch, size), jnp.float32)


def reset_where(state: LSTMState, reset: Array) -> LSTMState:
    """Zero the rows of `state` where reset [B] (bool) holds."""
    return jax.tree.map(lambda x: jnp.where(reset[:, None], 0.0, x), state)


def prefix_rewards(prefix: Array, horizon: int) -> Array:
    """Per-step rewards [..., K] from the value prefixes [..., K] of steps 1..K.

    The reward of step k is prefix_k - prefix_{k-1}, where prefix_{k-1} counts as 0 when step
    k-1 is a reset point (a multiple of the horizon; the root, step 0, is one)."""
    steps = prefix.shape[-1]
    previous = jnp.concatenate([jnp.zeros_like(prefix[..., :1]), prefix[..., :-1]], axis=-1)
    after_reset = jnp.arange(steps) % horizon == 0  # index k holds step k+1; its parent is k
    return prefix - jnp.where(after_reset, 0.0, previous)


class ValuePrefix(nn.Module):
    """(next latent [B, ...], LSTM state) -> (value-prefix logits [B, S], next LSTM state).

    EfficientZero's reward head: a 1x1 convolution of plane latents, an LSTM over the
    flattened latent, normalisation and ReLU, then an MLP (LayerNorm for BatchNorm, as in the
    other heads). The output layer is zero-initialised so an untrained model predicts 0."""

    lstm_size: int
    hidden_size: int
    num_bins: int

    @nn.compact
    def __call__(self, latent: Array, state: LSTMState) -> tuple[Array, LSTMState]:
        x = latent
        if x.ndim > 2:  # planes, as the dynamics' reward head reads them
            x = nn.relu(nn.LayerNorm()(nn.Conv(4, (1, 1))(x)))
        x = x.reshape(x.shape[0], -1)
        state, x = nn.OptimizedLSTMCell(self.lstm_size)(state, x)
        x = nn.relu(nn.LayerNorm()(x))
        x = nn.relu(nn.LayerNorm()(nn.Dense(self.hidden_size)(x)))
        logits = nn.Dense(self.num_bins, kernel_init=nn.initializers.zeros)(x)
        return logits, state
