"""Go 9x9 (pgx, komi 7.5, Tromp-Taylor area scoring) on 2 CPU cores in about 20 minutes.

A starting point for `python -m muzero.gtp` (GTP engine, matches against GNU Go), not a
strong player: an MLP over pgx's [9, 9, 17] planes (the last 8 positions of each colour and
the colour to play, so no frame history is needed), Gumbel search with 16 simulations, and
Monte-Carlo value targets (n covers pgx's 162-ply cap, discount 1).
"""

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
        preset="go_9x9",
        env=EnvConfig(id="go_9x9"),
        network=NetworkConfig(
            torso="mlp",
            hidden_size=256,
            num_layers=2,
            latent_size=128,
            value_support=unit,
            reward_support=unit,
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=16, max_num_considered_actions=16),
        actor=ActorConfig(num_envs=128, unroll_length=8, random_opening_moves=2),
        replay=ReplayConfig(capacity=150_000, min_size=8_000),
        learner=LearnerConfig(
            batch_size=256,
            unroll_steps=5,
            td_steps=162,
            discount=1.0,
            learning_rate=3e-3,
            warmup_steps=50,
            updates_per_iteration=8,
            value_loss_weight=1.0,
        ),
        eval=EvalConfig(num_games=32, opponents=("random",), interval_s=600.0),
        run=RunConfig(time_budget_s=1200.0, checkpoint_interval_s=120.0, snapshot_interval_s=120.0),
    )
