"""One frozen dataclass tree holds every setting of a run.

Every field has a default and a docstring (the docstring is what `--help` prints). Invalid
values raise `ValueError` naming the field in `__post_init__`, before anything compiles; the
tree imports no environment and rewrites no field (checks that need the environment run in
`muzero.runtime.components.check_config`). Presets in `configs/` build a `Config`; the command
line overrides any field with tyro (`--search.num-simulations 8`). The sections live by
concern in `environment`, `agent` and `loop`; everything is importable from here.
"""

from __future__ import annotations

import dataclasses

from muzero.config.agent import NetworkConfig, SearchConfig, SupportConfig
from muzero.config.checks import check
from muzero.config.environment import EnvConfig, HistoryConfig
from muzero.config.loop import (
    ActorConfig,
    EvalConfig,
    LearnerConfig,
    ReanalyzeConfig,
    ReplayConfig,
    RunConfig,
)

__all__ = [
    "ActorConfig", "Config", "EnvConfig", "EvalConfig", "HistoryConfig", "LearnerConfig",
    "NetworkConfig", "ReanalyzeConfig", "ReplayConfig", "RunConfig", "SearchConfig",
    "SupportConfig", "from_dict", "to_dict",
]  # fmt: skip


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
    reanalyze: ReanalyzeConfig = dataclasses.field(default_factory=ReanalyzeConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    run: RunConfig = dataclasses.field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        window = self.learner.unroll_steps + self.learner.td_steps + self.history.frames
        check(
            self.replay_steps_per_env >= window + self.actor.unroll_length,
            "replay.capacity",
            f"must hold at least {window + self.actor.unroll_length} "
            f"steps per environment (unroll + td steps + history frames + one acting chunk) "
            f"for {self.actor.num_envs} envs",
            self.replay.capacity,
        )
        check(
            self.learner.consistency_loss_weight == 0 or self.network.projection_size > 0,
            "learner.consistency_loss_weight",
            "needs network.projection_size > 0 (the heads the loss compares)",
            self.learner.consistency_loss_weight,
        )
        check(
            self.replay.min_size <= self.replay.capacity,
            "replay.min_size",
            "must not exceed replay.capacity",
            self.replay.min_size,
        )

        for field, size in (
            ("learner.batch_size", self.learner.batch_size),
            ("actor.num_envs", self.actor.num_envs),
        ):  # each device takes an equal share (`muzero.runtime.sharding`)
            check(
                self.run.devices == 0 or size % self.run.devices == 0,
                "run.devices",
                f"must divide {field} ({size})",
                self.run.devices,
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
