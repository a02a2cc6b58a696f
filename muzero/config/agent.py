"""The agent: its value supports, networks and search."""

from __future__ import annotations

import dataclasses
from typing import Literal

from muzero.config.checks import at_least, check


@dataclasses.dataclass(frozen=True)
class SupportConfig:
    """Categorical support for value or reward predictions (MuZero appendix F)."""

    min_value: float = -10.0
    """Lowest bin, in the transformed space when `transform` is set."""
    max_value: float = 10.0
    """Highest bin, in the transformed space when `transform` is set."""
    num_bins: int = 21
    """Number of evenly spaced bins between min_value and max_value."""
    transform: bool = True
    """Apply h(x) = sign(x)(sqrt(|x|+1)-1)+0.001x before the two-hot encoding."""

    def validate(self, name: str) -> None:
        check(self.num_bins >= 2, f"{name}.num_bins", "must be >= 2", self.num_bins)
        check(
            self.max_value > self.min_value,
            f"{name}.max_value",
            "must exceed min_value",
            self.max_value,
        )


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Representation, dynamics and prediction networks."""

    torso: Literal["mlp", "resnet", "resnet_mlp"] = "mlp"
    """mlp for vector observations (flattened); resnet for board planes [H, W, C]; resnet_mlp:
    a ResNet representation of the planes into a vector latent, with MLP dynamics and heads
    (the convolutions run once per position, not once per unrolled or simulated step)."""
    hidden_size: int = 128
    """Width of every MLP hidden layer."""
    num_layers: int = 2
    """Hidden layers in each MLP (representation, dynamics, each head)."""
    latent_size: int = 64
    """Size of the vector latent state (mlp, resnet_mlp)."""
    channels: int = 32
    """ResNet channels (the latent has this many planes)."""
    num_blocks: int = 2
    """Residual blocks in the ResNet representation and dynamics trunks."""
    downsample: bool = False
    """ResNet: the paper's Atari stem (stride-2 convolutions and average pooling, 96x96 to
    6x6, MuZero appendix F) before the representation trunk."""
    stem_blocks: tuple[int, int, int] = (2, 3, 3)
    """Residual blocks at the stem's three resolutions (paper (2, 3, 3); EfficientZero
    (1, 1, 1))."""
    value_support: SupportConfig = dataclasses.field(default_factory=SupportConfig)
    """Support of the categorical value head."""
    reward_support: SupportConfig = dataclasses.field(default_factory=SupportConfig)
    """Support of the categorical reward head."""
    projection_size: int = 0
    """Width of the SimSiam projection and prediction heads over the latent that the
    temporal-consistency loss compares (EfficientZero, Ye et al. 2021); 0 = no such heads.
    Needed by learner.consistency_loss_weight > 0."""
    value_prefix_horizon: int = 0
    """LSTM value prefix reset every this many steps (EfficientZero 5, Ye et al. 2021 section
    4.2): the model predicts the sum of rewards since the last reset instead of each step's
    reward, over reward_support; 0 = per-step reward predictions (MuZero)."""
    lstm_size: int = 64
    """Hidden size of the value-prefix LSTM (EfficientZero 512 on Atari); unused when
    value_prefix_horizon is 0."""

    def __post_init__(self) -> None:
        fields = ("hidden_size", "num_layers", "latent_size", "channels", "num_blocks")
        at_least(self, "network", 1, *fields, "lstm_size")
        at_least(self, "network", 0, "projection_size", "value_prefix_horizon")
        check(
            len(self.stem_blocks) == 3 and all(b >= 0 for b in self.stem_blocks),
            "network.stem_blocks",
            "must be three counts >= 0",
            self.stem_blocks,
        )
        self.value_support.validate("network.value_support")
        self.reward_support.validate("network.reward_support")


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """Tree search in the learned model (mctx)."""

    algorithm: Literal["gumbel", "muzero"] = "gumbel"
    """gumbel: Gumbel MuZero (Danihelka et al. 2022); muzero: pUCT with Dirichlet noise."""
    num_simulations: int = 16
    """Simulations per search."""
    max_num_considered_actions: int = 16
    """Gumbel: actions sampled without replacement at the root."""
    gumbel_scale: float = 1.0
    """Gumbel: scale of the root Gumbel noise in self-play (evaluation uses 0)."""
    pb_c_init: float = 1.25
    """pUCT c1 (MuZero appendix B)."""
    pb_c_base: float = 19652.0
    """pUCT c2 (MuZero appendix B)."""
    dirichlet_alpha: float = 0.3
    """pUCT: Dirichlet root-noise concentration in self-play (MuZero appendix C)."""
    dirichlet_fraction: float = 0.25
    """pUCT: weight of the Dirichlet noise in the root prior in self-play."""
    max_depth: int = 0
    """Deepest tree the search may grow; 0 means num_simulations (no limit)."""

    def __post_init__(self) -> None:
        check(
            self.algorithm in ("gumbel", "muzero"),
            "search.algorithm",
            "must be 'gumbel' or 'muzero'",
            self.algorithm,
        )
        at_least(self, "search", 1, "num_simulations", "max_num_considered_actions")
        at_least(self, "search", 0, "gumbel_scale")
        check(
            self.dirichlet_alpha > 0, "search.dirichlet_alpha", "must be > 0", self.dirichlet_alpha
        )
        check(
            0 <= self.dirichlet_fraction <= 1,
            "search.dirichlet_fraction",
            "must be in [0, 1]",
            self.dirichlet_fraction,
        )
        at_least(self, "search", 0, "max_depth")
