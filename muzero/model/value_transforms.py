"""The value/reward transform h and categorical two-hot encodings (MuZero appendix F).

Values and rewards are predicted as categorical distributions over a fixed support in the
transformed space h(x) = sign(x)(sqrt(|x|+1) - 1) + eps*x, which shrinks large returns so one
network can fit games whose scores differ by orders of magnitude.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from muzero.config import SupportConfig
from muzero.types import Array

EPS = 0.001  # MuZero appendix F (Pohlen et al. 2018)


def h(x: Array) -> Array:
    """h(x) = sign(x)(sqrt(|x|+1) - 1) + eps*x."""
    return jnp.sign(x) * (jnp.sqrt(jnp.abs(x) + 1.0) - 1.0) + EPS * x


def h_inverse(y: Array) -> Array:
    """Exact inverse of `h` (Pohlen et al. 2018, proposition A.2)."""
    root = (jnp.sqrt(1.0 + 4.0 * EPS * (jnp.abs(y) + 1.0 + EPS)) - 1.0) / (2.0 * EPS)
    return jnp.sign(y) * (root**2 - 1.0)


class Support(struct.PyTreeNode):
    """Evenly spaced bins in the (optionally h-transformed) value space."""

    min_value: float = struct.field(pytree_node=False)
    max_value: float = struct.field(pytree_node=False)
    num_bins: int = struct.field(pytree_node=False)
    transform: bool = struct.field(pytree_node=False, default=True)

    @property
    def bins(self) -> Array:  # [S]
        return jnp.linspace(self.min_value, self.max_value, self.num_bins)


def make_support(config: SupportConfig) -> Support:
    """The support a `SupportConfig` describes (the one place it is built)."""
    return Support(
        float(config.min_value), float(config.max_value), int(config.num_bins),
        bool(config.transform),
    )  # fmt: skip


def scalar_to_two_hot(x: Array, support: Support) -> Array:
    """[...] scalars -> [..., S] probabilities on the two bins around h(x); clipped to the ends."""
    y = h(x) if support.transform else x
    y = jnp.clip(y, support.min_value, support.max_value)
    step = (support.max_value - support.min_value) / (support.num_bins - 1)
    position = (y - support.min_value) / step
    low = jnp.clip(jnp.floor(position), 0, support.num_bins - 1)
    upper_weight = position - low
    low = low.astype(jnp.int32)
    high = jnp.minimum(low + 1, support.num_bins - 1)
    return (
        jax.nn.one_hot(low, support.num_bins) * (1.0 - upper_weight)[..., None]
        + jax.nn.one_hot(high, support.num_bins) * upper_weight[..., None]
    )


def probabilities_to_scalar(probs: Array, support: Support) -> Array:
    """[..., S] probabilities -> [...] scalar: expectation over bins, then h^-1."""
    y = jnp.sum(probs * support.bins, axis=-1)
    return h_inverse(y) if support.transform else y


def logits_to_scalar(logits: Array, support: Support) -> Array:
    """[..., S] logits -> [...] scalar."""
    return probabilities_to_scalar(jax.nn.softmax(logits, axis=-1), support)
