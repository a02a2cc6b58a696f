"""One frozen dataclass tree holds every setting of a run.

Every field has a default and a docstring (the docstring is what `--help` prints). Invalid
values raise `ValueError` naming the field in `__post_init__`, before anything compiles.
Presets in `configs/` build a `Config`; the command line overrides any field with tyro
(`--search.num-simulations 8`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal


def _check(condition: bool, field: str, message: str, value: object) -> None:
    if not condition:
        raise ValueError(f"{field} {message}, got {value!r}")


def _at_least(config: object, section: str, minimum: int, *names: str) -> None:
    """Each named field of `config` must be >= minimum."""
    for name in names:
        value = getattr(config, name)
        _check(value >= minimum, f"{section}.{name}", f"must be >= {minimum}", value)


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
        _check(self.num_bins >= 2, f"{name}.num_bins", "must be >= 2", self.num_bins)
        _check(
            self.max_value > self.min_value,
            f"{name}.max_value",
            "must exceed min_value",
            self.max_value,
        )


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """Which environment to play; the remaining fields apply to Atari (ALE/...) only."""

    id: str = "tic_tac_toe"
    """A pgx game id (tic_tac_toe, connect_four, go_9x9, ...), a gymnax id (CartPole-v1,
    Breakout-MinAtar, ...), an Atari game ALE/<Game> (ALE/Pong, ALE/MsPacman, ...) or an id
    registered with envs.register (examples/jax_env.py, examples/gymnasium_env.py)."""
    frame_skip: int = 4
    """Atari: emulator frames per agent step; the observation is the max of the last two."""
    sticky_action_prob: float = 0.25
    """Atari: probability that the emulator repeats the previous action (Machado et al. 2018)."""
    full_action_space: bool = False
    """Atari: all 18 joystick actions instead of the game's minimal set."""
    frame_size: int = 96
    """Atari: frames are resized to frame_size x frame_size (MuZero: 96)."""
    grayscale: bool = False
    """Atari: one grayscale channel instead of RGB."""
    max_episode_steps: int = 27_000
    """Atari: agent steps before an episode is truncated (27,000 = 108,000 frames)."""
    noop_max: int = 30
    """Atari: each episode starts with a random number (0 to noop_max) of no-op actions."""
    env_threads: int = 0
    """Atari: emulator threads; 0 = one per CPU core."""

    def __post_init__(self) -> None:
        # Whether the id names a known environment is checked with the environments, before
        # anything compiles (`muzero.runtime.components.check_config`): the config tree
        # imports no environment library.
        _check(bool(self.id), "env.id", "must name an environment", self.id)
        _at_least(self, "env", 1, "frame_skip")
        _check(
            0 <= self.sticky_action_prob <= 1,
            "env.sticky_action_prob",
            "must be in [0, 1]",
            self.sticky_action_prob,
        )
        _at_least(self, "env", 8, "frame_size")
        _at_least(self, "env", 1, "max_episode_steps")
        _at_least(self, "env", 0, "noop_max", "env_threads")


@dataclasses.dataclass(frozen=True)
class HistoryConfig:
    """What the representation network sees: the last frames and the actions between them."""

    frames: int = 1
    """Frames in the observation history: MuZero's Atari setting is 32, EfficientZero's 4;
    1 = the current observation only."""
    action_planes: bool = False
    """Add one plane per frame holding the action that led to it, scaled (a + 1) / A (MuZero
    appendix F)."""

    def __post_init__(self) -> None:
        _at_least(self, "history", 1, "frames")


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

    def __post_init__(self) -> None:
        fields = ("hidden_size", "num_layers", "latent_size", "channels", "num_blocks")
        _at_least(self, "network", 1, *fields)
        _at_least(self, "network", 0, "projection_size")
        _check(
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
        _check(
            self.algorithm in ("gumbel", "muzero"),
            "search.algorithm",
            "must be 'gumbel' or 'muzero'",
            self.algorithm,
        )
        _at_least(self, "search", 1, "num_simulations", "max_num_considered_actions")
        _at_least(self, "search", 0, "gumbel_scale")
        _check(
            self.dirichlet_alpha > 0, "search.dirichlet_alpha", "must be > 0", self.dirichlet_alpha
        )
        _check(
            0 <= self.dirichlet_fraction <= 1,
            "search.dirichlet_fraction",
            "must be in [0, 1]",
            self.dirichlet_fraction,
        )
        _at_least(self, "search", 0, "max_depth")


@dataclasses.dataclass(frozen=True)
class ActorConfig:
    """Self-play: a batch of environments stepped together with the search."""

    num_envs: int = 256
    """Environments played in parallel (the search batch)."""
    unroll_length: int = 16
    """Steps of every environment per acting call (one jitted scan)."""
    random_opening_moves: int = 0
    """First moves of each episode chosen uniformly among legal actions (exploration)."""
    action_selection: Literal["visits", "search"] = "visits"
    """visits: sample from root visit counts ** (1/temperature); search: play mctx's action
    (Gumbel: the sequential-halving winner under Gumbel noise)."""
    temperature: float = 1.0
    """With action_selection visits: 0 = most visited, 1 = proportional to visits."""

    def __post_init__(self) -> None:
        _at_least(self, "actor", 1, "num_envs", "unroll_length")
        _at_least(self, "actor", 0, "random_opening_moves", "temperature")
        _check(
            self.action_selection in ("visits", "search"),
            "actor.action_selection",
            "must be 'visits' or 'search'",
            self.action_selection,
        )


@dataclasses.dataclass(frozen=True)
class ReplayConfig:
    """Prioritized replay of self-play trajectories (MuZero appendix G)."""

    capacity: int = 200_000
    """Most environment steps kept; the oldest are overwritten."""
    priority_exponent: float = 1.0
    """alpha: sampling probability proportional to priority ** alpha (0 = uniform)."""
    importance_exponent: float = 1.0
    """beta: importance weights (N P(i)) ** -beta correct the sampling bias."""
    min_size: int = 2_000
    """Steps collected before the first update."""

    def __post_init__(self) -> None:
        _at_least(self, "replay", 1, "capacity")
        _at_least(self, "replay", 0, "priority_exponent", "importance_exponent")
        _at_least(self, "replay", 1, "min_size")


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
    """The MuZero loss and its optimizer."""

    batch_size: int = 256
    """Positions per update."""
    unroll_steps: int = 5
    """K: steps the dynamics network is unrolled from each sampled position."""
    td_steps: int = 10
    """n: rewards summed before bootstrapping from the stored search value."""
    discount: float = 0.997
    """Per-step discount gamma (negated inside the tree for two-player games)."""
    learning_rate: float = 3e-3
    """Peak learning rate."""
    warmup_steps: int = 100
    """Updates of linear learning-rate warm-up."""
    decay_steps: int = 0
    """Updates of cosine decay to lr * final_lr_fraction after warm-up; 0 = constant."""
    final_lr_fraction: float = 0.1
    """Learning rate at the end of the decay, as a fraction of the peak."""
    weight_decay: float = 1e-4
    """Decoupled weight decay (AdamW)."""
    max_grad_norm: float = 5.0
    """Global gradient-norm clip; 0 = no clip."""
    value_loss_weight: float = 0.25
    """Weight of the value loss (MuZero Reanalyze appendix uses 0.25)."""
    consistency_loss_weight: float = 0.0
    """Weight of EfficientZero's temporal-consistency loss (Ye et al. 2021 use 2): at each
    unrolled step k, the negative cosine similarity between the projected dynamics latent and
    the stop-gradient projection of the representation of the real observation k steps later.
    It teaches the dynamics to land where the representation would, so the heads trained on
    real positions also read the imagined ones. 0 = off; needs network.projection_size > 0."""
    updates_per_iteration: int = 8
    """Updates after every acting call (one jitted scan)."""

    def __post_init__(self) -> None:
        fields = ("batch_size", "unroll_steps", "td_steps", "updates_per_iteration")
        _at_least(self, "learner", 1, *fields)
        _check(0 < self.discount <= 1, "learner.discount", "must be in (0, 1]", self.discount)
        _check(self.learning_rate > 0, "learner.learning_rate", "must be > 0", self.learning_rate)
        _at_least(self, "learner", 0, "warmup_steps", "decay_steps")
        _check(
            0 <= self.final_lr_fraction <= 1,
            "learner.final_lr_fraction",
            "must be in [0, 1]",
            self.final_lr_fraction,
        )
        _at_least(self, "learner", 0, "weight_decay", "max_grad_norm", "value_loss_weight")
        _at_least(self, "learner", 0, "consistency_loss_weight")


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Evaluation during and after training (greedy: most visited action, no root noise)."""

    num_games: int = 100
    """Episodes (single-player) or games per seat (two-player) per evaluation."""
    opponents: tuple[str, ...] = ("random",)
    """Two-player opponents: random, minimax (tic_tac_toe), perfect (tic_tac_toe, connect_four),
    mcts / mcts-N (reference MCTS with N simulations on pgx's rules), or module:function (see
    muzero.evaluation.opponents)."""
    interval_s: float = 0.0
    """Seconds of training between evaluations; 0 = evaluate once at the end."""
    num_simulations: int = 0
    """Simulations per move in evaluation; 0 = search.num_simulations."""

    def __post_init__(self) -> None:
        _at_least(self, "eval", 1, "num_games")
        _at_least(self, "eval", 0, "interval_s", "num_simulations")
        for name in self.opponents:
            _check(
                name in ("random", "minimax", "perfect")
                or re.fullmatch(r"mcts(-[1-9]\d*)?", name) is not None
                or re.fullmatch(r"[\w.]+:\w+", name) is not None,
                "eval.opponents",
                "entries must be random, minimax, perfect, mcts, mcts-N or module:function",
                name,
            )


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Budget, seed, logging and checkpoints of one run."""

    seed: int = 0
    """Seed of every random stream in the run."""
    time_budget_s: float = 300.0
    """Wall-clock seconds of training (compile included) before the run stops; 0 = no limit."""
    max_env_steps: int = 0
    """Environment steps before the run stops; 0 = no limit."""
    max_iterations: int = 0
    """Act-then-learn iterations before the run stops; 0 = no limit."""
    log_interval_s: float = 5.0
    """Seconds between metric rows."""
    checkpoint_interval_s: float = 60.0
    """Seconds between checkpoints (one is always written at the end)."""
    checkpoints_to_keep: int = 2
    """Newest checkpoints kept on disk."""
    snapshot_interval_s: float = 300.0
    """Seconds between parameter-only snapshots, all kept (Elo over training); 0 = none."""
    runs_dir: str = "runs"
    """Runs are written to <runs_dir>/<preset>/<timestamp>/."""
    progress: bool = True
    """Show a live progress bar."""
    tensorboard: bool = True
    """Also write TensorBoard event files."""

    def __post_init__(self) -> None:
        _at_least(self, "run", 0, "time_budget_s", "max_env_steps", "max_iterations")
        _check(self.log_interval_s > 0, "run.log_interval_s", "must be > 0", self.log_interval_s)
        _check(
            self.checkpoint_interval_s > 0,
            "run.checkpoint_interval_s",
            "must be > 0",
            self.checkpoint_interval_s,
        )
        _at_least(self, "run", 1, "checkpoints_to_keep")
        _at_least(self, "run", 0, "snapshot_interval_s")
        _check(
            self.time_budget_s > 0 or self.max_env_steps > 0 or self.max_iterations > 0,
            "run.time_budget_s",
            "must be > 0 when no other stopping limit is set",
            self.time_budget_s,
        )


@dataclasses.dataclass(frozen=True)
class Config:
    """A whole run: environment, model, search, self-play, replay, learner, evaluation."""

    preset: str = "tictactoe"
    """Name of the preset this config came from (names the run directory)."""
    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    history: HistoryConfig = dataclasses.field(default_factory=HistoryConfig)
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    search: SearchConfig = dataclasses.field(default_factory=SearchConfig)
    actor: ActorConfig = dataclasses.field(default_factory=ActorConfig)
    replay: ReplayConfig = dataclasses.field(default_factory=ReplayConfig)
    learner: LearnerConfig = dataclasses.field(default_factory=LearnerConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    run: RunConfig = dataclasses.field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        window = self.learner.unroll_steps + self.learner.td_steps + self.history.frames
        _check(
            self.replay_steps_per_env >= window + self.actor.unroll_length,
            "replay.capacity",
            f"must hold at least {window + self.actor.unroll_length} "
            f"steps per environment (unroll + td steps + history frames + one acting chunk) "
            f"for {self.actor.num_envs} envs",
            self.replay.capacity,
        )
        _check(
            self.learner.consistency_loss_weight == 0 or self.network.projection_size > 0,
            "learner.consistency_loss_weight",
            "needs network.projection_size > 0 (the heads the loss compares)",
            self.learner.consistency_loss_weight,
        )
        _check(
            self.replay.min_size <= self.replay.capacity,
            "replay.min_size",
            "must not exceed replay.capacity",
            self.replay.min_size,
        )

    @property
    def replay_steps_per_env(self) -> int:
        """Replay length per environment column, a whole number of acting chunks."""
        chunks = self.replay.capacity // (self.actor.num_envs * self.actor.unroll_length)
        return max(chunks, 1) * self.actor.unroll_length

    @property
    def eval_simulations(self) -> int:
        return self.eval.num_simulations or self.search.num_simulations

    def replace(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)


def to_dict(config: Config) -> dict:
    return dataclasses.asdict(config)


def from_dict(data: dict) -> Config:
    """Rebuild a Config from `to_dict` output (as read back from config.json)."""

    def build(cls, values: dict):
        kwargs = {}
        hints = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in values.items():
            if key not in hints:
                raise ValueError(f"config field {cls.__name__}.{key} is unknown")
            field_default = (
                hints[key].default_factory
                if hints[key].default_factory is not dataclasses.MISSING
                else None
            )
            if isinstance(value, dict) and field_default is not None:
                kwargs[key] = build(type(field_default()), value)
            elif isinstance(value, list):
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = value
        return cls(**kwargs)

    return build(Config, data)
