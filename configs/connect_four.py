"""Connect four (pgx): 95%+ wins against a uniformly random player in either seat, 30 minutes."""

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
    unit = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=21, transform=False)
    return Config(
        preset="connect_four",
        env=EnvConfig(id="connect_four"),
        network=NetworkConfig(
            torso="mlp",
            hidden_size=256,
            num_layers=2,
            latent_size=128,
            value_support=unit,
            reward_support=unit,
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=16, max_num_considered_actions=7),
        actor=ActorConfig(num_envs=256, unroll_length=8, random_opening_moves=1),
        replay=ReplayConfig(capacity=300_000, min_size=8_000),
        learner=LearnerConfig(
            batch_size=512,
            unroll_steps=5,
            td_steps=42,
            discount=1.0,
            learning_rate=3e-3,
            warmup_steps=50,
            updates_per_iteration=16,
            value_loss_weight=1.0,
        ),
        eval=EvalConfig(num_games=100, opponents=("random",), interval_s=300.0),
        run=RunConfig(time_budget_s=1500.0, checkpoint_interval_s=120.0, snapshot_interval_s=100.0),
    )
