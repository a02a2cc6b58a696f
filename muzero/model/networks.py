"""Representation, dynamics and prediction networks (MuZero section 3 and appendix F).

Three torsos share one interface:
- `mlp`: vector observations are flattened; the latent is a vector [D].
- `resnet_mlp`: a residual convolutional representation reads the board planes, so that local
  patterns (three in a row and the empty cell that completes it) are features of the latent;
  a Dense layer maps its planes to a vector latent [D], and dynamics and heads are the MLPs of
  `mlp`. Convolutions run once per sample (at the root), not once per unrolled or simulated
  step, which is what makes them affordable on a CPU.
- `resnet`: board planes or pixels [H, W, C]; the latent is a stack of planes [H, W, C'] (for
  Atari after the paper's downsampling stem, 96x96 -> 6x6) and the action
  enters the dynamics as learned planes (a Dense map from the one-hot action to [H, W, 2]),
  so the network can learn where an action acts without being told the board's layout.

Latent states are min-max normalised to [0, 1] per sample (MuZero appendix G), which keeps the
dynamics input on the same scale as the representation output however long the unroll.
Heads end in zero-initialised layers so an untrained model predicts a uniform policy and a
value and reward of exactly zero.

With `projection_size > 0` the model also has EfficientZero's SimSiam heads (Ye et al. 2021,
after Chen & He 2021): a projection of any latent and, on the online branch only, a
prediction head after it; `muzero.learning.losses` compares them across the dynamics.

With `value_prefix_horizon > 0` the rewards come from EfficientZero's value-prefix LSTM over the
dynamics' latents (`muzero.model.value_prefix`) and the dynamics builds no reward head.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from muzero.config import NetworkConfig
from muzero.model.value_prefix import LSTMState, ValuePrefix, zero_lstm_state
from muzero.types import Array, EnvSpec, Params, PRNGKey


def normalize_latent(latent: Array) -> Array:
    """Min-max scale every sample's latent to [0, 1] (MuZero appendix G)."""
    axes = tuple(range(1, latent.ndim))
    low = jnp.min(latent, axis=axes, keepdims=True)
    high = jnp.max(latent, axis=axes, keepdims=True)
    return (latent - low) / jnp.maximum(high - low, 1e-5)


class MLP(nn.Module):
    hidden_size: int
    num_layers: int
    output_size: int
    zero_init_output: bool = False

    @nn.compact
    def __call__(self, x: Array) -> Array:
        for _ in range(self.num_layers):
            x = nn.relu(nn.LayerNorm()(nn.Dense(self.hidden_size)(x)))
        init = nn.initializers.zeros if self.zero_init_output else nn.initializers.lecun_normal()
        return nn.Dense(self.output_size, kernel_init=init)(x)


class ResidualBlock(nn.Module):
    channels: int

    @nn.compact
    def __call__(self, x: Array) -> Array:
        y = nn.Conv(self.channels, (3, 3))(nn.relu(nn.LayerNorm()(x)))
        y = nn.Conv(self.channels, (3, 3))(nn.relu(nn.LayerNorm()(y)))
        return x + y


class Downsample(nn.Module):
    """MuZero appendix F's Atari stem, 96x96 -> 6x6: a stride-2 convolution to C/2 channels,
    residual blocks, a stride-2 convolution to C channels, residual blocks, average pooling
    with stride 2, residual blocks, average pooling with stride 2. The paper uses (2, 3, 3)
    blocks at the three resolutions, EfficientZero (1, 1, 1)."""

    channels: int
    blocks: tuple[int, int, int]

    @nn.compact
    def __call__(self, x: Array) -> Array:
        half = max(self.channels // 2, 1)
        x = nn.Conv(half, (3, 3), strides=(2, 2))(x)
        for _ in range(self.blocks[0]):
            x = ResidualBlock(half)(x)
        x = nn.Conv(self.channels, (3, 3), strides=(2, 2))(x)
        for _ in range(self.blocks[1]):
            x = ResidualBlock(self.channels)(x)
        x = nn.avg_pool(x, (3, 3), strides=(2, 2), padding="SAME")
        for _ in range(self.blocks[2]):
            x = ResidualBlock(self.channels)(x)
        return nn.avg_pool(x, (3, 3), strides=(2, 2), padding="SAME")


class Heads(nn.Module):
    """Prediction function f: latent -> (policy logits [A], value logits [S])."""

    config: NetworkConfig
    num_actions: int

    @nn.compact
    def __call__(self, latent: Array) -> tuple[Array, Array]:
        c = self.config
        x = latent
        if x.ndim > 2:  # planes: a 1x1 convolution then flatten, as in AlphaZero's heads
            x = nn.relu(nn.LayerNorm()(nn.Conv(4, (1, 1))(x))).reshape(x.shape[0], -1)
        policy = MLP(c.hidden_size, 1, self.num_actions, zero_init_output=True)(x)
        value = MLP(c.hidden_size, 1, c.value_support.num_bins, zero_init_output=True)(x)
        return policy, value


class Representation(nn.Module):
    """Representation function h: observation -> latent."""

    config: NetworkConfig

    @nn.compact
    def __call__(self, observation: Array) -> Array:
        c = self.config
        x = observation.astype(jnp.float32)
        if observation.dtype == jnp.uint8:  # pixels (and their action planes, see history.py)
            x = x / 255.0
        if c.torso == "mlp":
            x = x.reshape(x.shape[0], -1)
            return normalize_latent(MLP(c.hidden_size, c.num_layers, c.latent_size)(x))
        if x.ndim == 2:  # a vector observation seen as a 1x1 board
            x = x[:, None, None, :]
        if c.downsample:
            x = Downsample(c.channels, c.stem_blocks)(x)
        else:
            x = nn.Conv(c.channels, (3, 3))(x)
        for _ in range(c.num_blocks):
            x = ResidualBlock(c.channels)(x)
        if c.torso == "resnet_mlp":
            x = nn.relu(nn.LayerNorm()(x)).reshape(x.shape[0], -1)
            return normalize_latent(nn.Dense(c.latent_size)(x))
        return normalize_latent(x)


class Dynamics(nn.Module):
    """Dynamics function g: (latent, action) -> (reward logits [S], next latent); the reward
    logits are None without a reward head (a value-prefix model predicts its rewards apart)."""

    config: NetworkConfig
    num_actions: int
    reward_head: bool = True

    @nn.compact
    def __call__(self, latent: Array, action: Array) -> tuple[Array | None, Array]:
        c = self.config
        one_hot = jax.nn.one_hot(action, self.num_actions)
        if latent.ndim == 2:
            x = MLP(c.hidden_size, c.num_layers, c.hidden_size)(
                jnp.concatenate([latent, one_hot], axis=-1)
            )
            next_latent = normalize_latent(nn.Dense(c.latent_size)(nn.relu(x)))
            if not self.reward_head:
                return None, next_latent
            reward = MLP(c.hidden_size, 1, c.reward_support.num_bins, zero_init_output=True)(x)
            return reward, next_latent
        batch, height, width, _ = latent.shape
        planes = nn.Dense(height * width * 2)(one_hot).reshape(batch, height, width, 2)
        x = nn.Conv(c.channels, (3, 3))(jnp.concatenate([latent, planes], axis=-1))
        for _ in range(c.num_blocks):
            x = ResidualBlock(c.channels)(x)
        next_latent = normalize_latent(x)
        if not self.reward_head:
            return None, next_latent
        flat = nn.relu(nn.LayerNorm()(nn.Conv(4, (1, 1))(x))).reshape(batch, -1)
        reward = MLP(c.hidden_size, 1, c.reward_support.num_bins, zero_init_output=True)(flat)
        return reward, next_latent


class Projection(nn.Module):
    """SimSiam heads over a latent (EfficientZero appendix A.2, LayerNorm for BatchNorm):
    projection Dense-LN-ReLU-Dense-LN-ReLU-Dense-LN, then, on the online branch, the
    prediction Dense(P/2)-LN-ReLU-Dense(P). Both branches share the projection."""

    size: int

    @nn.compact
    def __call__(self, latent: Array, online: bool) -> Array:
        x = latent.reshape(latent.shape[0], -1)
        for _ in range(2):
            x = nn.relu(nn.LayerNorm()(nn.Dense(self.size)(x)))
        x = nn.LayerNorm()(nn.Dense(self.size)(x))
        if not online:  # `init` runs the online branch, so the predictor's parameters exist
            return x
        x = nn.relu(nn.LayerNorm()(nn.Dense(max(self.size // 2, 1))(x)))
        return nn.Dense(self.size)(x)


class Model(NamedTuple):
    """The three MuZero functions as pure functions of (params, inputs); inputs are batched."""

    init: Callable[[PRNGKey], Params]
    represent: Callable[[Params, Array], Array]  # [B, *O] -> latent [B, ...]
    # (latent, action [B]) -> (reward logits [B, S] or None with a value prefix, next latent)
    dynamics: Callable[[Params, Array, Array], tuple[Array | None, Array]]
    predict: Callable[[Params, Array], tuple[Array, Array]]  # -> ([B, A], [B, S])
    # (params, latent [B, ...], online) -> [B, P]; None without projection heads.
    project: Callable[[Params, Array, bool], Array] | None = None
    # EfficientZero's value prefix, None for per-step rewards: (params, next latent [B, ...],
    # LSTM state) -> (prefix logits [B, S_reward], LSTM state), its zero state for a batch
    # size, and the steps between resets (0 without a value prefix).
    value_prefix: Callable[[Params, Array, LSTMState], tuple[Array, LSTMState]] | None = None
    initial_state: Callable[[int], LSTMState] | None = None
    prefix_horizon: int = 0


def make_model(config: NetworkConfig, spec: EnvSpec) -> Model:
    representation = Representation(config)
    horizon = config.value_prefix_horizon
    dynamics = Dynamics(config, spec.num_actions, reward_head=horizon == 0)
    heads = Heads(config, spec.num_actions)
    projection = Projection(config.projection_size) if config.projection_size else None
    prefix = None
    if horizon:
        prefix = ValuePrefix(config.lstm_size, config.hidden_size, config.reward_support.num_bins)

    def init(key: PRNGKey) -> Params:
        k_repr, k_dyn, k_pred, k_proj = jax.random.split(key, 4)
        observation = jnp.zeros((1, *spec.observation_shape), spec.observation_dtype)
        latent = jax.eval_shape(representation.init_with_output, k_repr, observation)[0]
        latent = jnp.zeros(latent.shape, latent.dtype)
        params = {
            "representation": representation.init(k_repr, observation),
            "dynamics": dynamics.init(k_dyn, latent, jnp.zeros((1,), jnp.int32)),
            "prediction": heads.init(k_pred, latent),
        }
        if projection is not None:
            params["projection"] = projection.init(k_proj, latent, True)
        if prefix is not None:  # a key of its own: the other parameters stay as without it
            state = zero_lstm_state(1, config.lstm_size)
            params["value_prefix"] = prefix.init(jax.random.fold_in(key, 1), latent, state)
        return params

    def project(p: Params, latent: Array, online: bool) -> Array:
        return projection.apply(p["projection"], latent, online)

    def value_prefix(p: Params, latent: Array, state: LSTMState) -> tuple[Array, LSTMState]:
        return prefix.apply(p["value_prefix"], latent, state)

    return Model(
        init=init,
        represent=lambda p, obs: representation.apply(p["representation"], obs),
        dynamics=lambda p, latent, a: dynamics.apply(p["dynamics"], latent, a),
        predict=lambda p, latent: heads.apply(p["prediction"], latent),
        project=project if projection is not None else None,
        value_prefix=value_prefix if prefix is not None else None,
        initial_state=(lambda batch: zero_lstm_state(batch, config.lstm_size)) if horizon else None,
        prefix_horizon=horizon,
    )
