"""The training loop: self-play, replay, learner, evaluation and the run itself."""

from __future__ import annotations

import dataclasses
import re
from typing import Literal

from muzero.config.checks import at_least, check


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
        at_least(self, "actor", 1, "num_envs", "unroll_length")
        at_least(self, "actor", 0, "random_opening_moves", "temperature")
        check(
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
        at_least(self, "replay", 1, "capacity")
        at_least(self, "replay", 0, "priority_exponent", "importance_exponent")
        at_least(self, "replay", 1, "min_size")


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
    td_age_steps: int = 0
    """EfficientZero's off-policy correction (Ye et al. 2021, section 4.3): the value target
    of a position whose data is this many environment steps old bootstraps one step earlier,
    twice as old two steps earlier, and so on down to one step (td = max(1, n - age //
    td_age_steps)), since old actions say less about what the current policy would earn.
    EfficientZero: 30% of the run's steps. 0 = off (every position uses n = td_steps)."""

    def __post_init__(self) -> None:
        fields = ("batch_size", "unroll_steps", "td_steps", "updates_per_iteration")
        at_least(self, "learner", 1, *fields)
        check(0 < self.discount <= 1, "learner.discount", "must be in (0, 1]", self.discount)
        check(self.learning_rate > 0, "learner.learning_rate", "must be > 0", self.learning_rate)
        at_least(self, "learner", 0, "warmup_steps", "decay_steps")
        check(
            0 <= self.final_lr_fraction <= 1,
            "learner.final_lr_fraction",
            "must be in [0, 1]",
            self.final_lr_fraction,
        )
        at_least(self, "learner", 0, "weight_decay", "max_grad_norm", "value_loss_weight")
        at_least(self, "learner", 0, "consistency_loss_weight", "td_age_steps")


@dataclasses.dataclass(frozen=True)
class ReanalyzeConfig:
    """MuZero Reanalyze (Schrittwieser et al. 2021; MuZero appendix H): fresh targets for
    replayed positions, computed inside every update (one batched, jitted step)."""

    policy: bool = False
    """Re-run the self-play search at the K + 1 unrolled states of every sampled position (with
    `policy_network`'s parameters), and train the policy towards its result instead of the
    search that was run when the position was played."""
    policy_network: Literal["target", "latest"] = "target"
    """Parameters of the policy re-search: the target network (EfficientZero) or the latest
    parameters (MuZero Reanalyze). With Gumbel MuZero's improved-policy targets the latest
    parameters chase their own logits: each update's target is the current prior moved by
    sigma(q), so the logits grow along q without bound (measured on MinAtar Breakout: the
    policy loss fell to 0 and the return to 0). A target network holds the target still for
    `target_update_interval` updates."""
    value: bool = False
    """Bootstrap the n-step value target from the target network (`target_update_interval`)
    evaluated at the bootstrap position now, instead of the search value stored at acting
    time (EfficientZero: the target network's predicted value)."""
    value_source: Literal["network", "search"] = "network"
    """With `value`: the target network's predicted value (EfficientZero, cheap) or the root
    value of a search with the target network (as at acting time, K + 1 more searches per
    sampled position)."""
    num_simulations: int = 0
    """Simulations of the reanalysis searches; 0 = search.num_simulations."""
    target_update_interval: int = 200
    """Updates between copies of the parameters into the target network (EfficientZero 200)."""

    def __post_init__(self) -> None:
        check(
            self.value_source in ("network", "search"),
            "reanalyze.value_source",
            "must be 'network' or 'search'",
            self.value_source,
        )
        check(
            self.policy_network in ("target", "latest"),
            "reanalyze.policy_network",
            "must be 'target' or 'latest'",
            self.policy_network,
        )
        at_least(self, "reanalyze", 0, "num_simulations")
        at_least(self, "reanalyze", 1, "target_update_interval")

    @property
    def uses_target_network(self) -> bool:
        return self.value or (self.policy and self.policy_network == "target")


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Evaluation during and after training (greedy: most visited action, no root noise)."""

    num_games: int = 100
    """Episodes (single-player) or games per seat (two-player) per evaluation."""
    opponents: tuple[str, ...] = ("random",)
    """Two-player opponents: random, minimax (tic_tac_toe), perfect (tic_tac_toe, connect_four),
    mcts / mcts-N (reference MCTS with N simulations on pgx's rules), or module:function (see
    muzero.evaluation.opponents; a resumed run imports only the plug-ins its command line
    names)."""
    interval_s: float = 0.0
    """Seconds of training between evaluations; 0 = evaluate once at the end."""
    interval_env_steps: int = 0
    """Environment steps between evaluations, besides `interval_s`: learning curves with
    points at the same steps for every run, however fast each runs; 0 = none."""
    num_simulations: int = 0
    """Simulations per move in evaluation; 0 = search.num_simulations."""

    def __post_init__(self) -> None:
        at_least(self, "eval", 1, "num_games")
        at_least(self, "eval", 0, "interval_s", "interval_env_steps", "num_simulations")
        for name in self.opponents:
            check(
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
    """Seconds between parameter-only snapshots (Elo over training); 0 = none."""
    snapshots_to_keep: int = 0
    """Newest snapshots kept on disk, besides the untrained one (iteration 0, the first point
    of an Elo curve) that is always kept; 0 = keep every snapshot."""
    runs_dir: str = "runs"
    """Runs are written to <runs_dir>/<preset>/<timestamp>/."""
    progress: bool = True
    """Show a live progress bar."""
    tensorboard: bool = True
    """Also write TensorBoard event files."""
    devices: int = 1
    """Local devices the learner's batch and the replay's environments are split over (a
    data-parallel mesh); 0 = every local device."""

    def __post_init__(self) -> None:
        at_least(self, "run", 0, "time_budget_s", "max_env_steps", "max_iterations")
        check(self.log_interval_s > 0, "run.log_interval_s", "must be > 0", self.log_interval_s)
        check(
            self.checkpoint_interval_s > 0,
            "run.checkpoint_interval_s",
            "must be > 0",
            self.checkpoint_interval_s,
        )
        at_least(self, "run", 1, "checkpoints_to_keep")
        at_least(self, "run", 0, "snapshot_interval_s", "snapshots_to_keep", "devices")
        check(
            self.time_budget_s > 0 or self.max_env_steps > 0 or self.max_iterations > 0,
            "run.time_budget_s",
            "must be > 0 when no other stopping limit is set",
            self.time_budget_s,
        )
