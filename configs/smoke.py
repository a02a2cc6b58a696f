"""End to end in well under a minute: tiny tic-tac-toe run, a checkpoint and an evaluation."""

from muzero.config import (
    ActorConfig,
    Config,
    EnvConfig,
    EvalConfig,
    LearnerConfig,
    NetworkConfig,
    ReplayConfig,
    RunConfig,
    SearchConfig,
    SupportConfig,
)


def config() -> Config:
    unit = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=5, transform=False)
    return Config(
        preset="smoke",
        env=EnvConfig(id="tic_tac_toe"),
        network=NetworkConfig(
            torso="mlp",
            hidden_size=32,
            num_layers=1,
            latent_size=16,
            value_support=unit,
            reward_support=unit,
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=4, max_num_considered_actions=4),
        actor=ActorConfig(num_envs=16, unroll_length=8, random_opening_moves=1),
        replay=ReplayConfig(capacity=2_048, min_size=64),
        learner=LearnerConfig(
            batch_size=32,
            unroll_steps=3,
            td_steps=9,
            discount=1.0,
            updates_per_iteration=2,
            warmup_steps=5,
        ),
        eval=EvalConfig(num_games=8, opponents=("random",)),
        run=RunConfig(
            time_budget_s=0.0,
            max_iterations=12,
            log_interval_s=1.0,
            checkpoint_interval_s=30.0,
            progress=False,
        ),
    )
