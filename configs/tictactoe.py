"""Tic-tac-toe (pgx) in under 5 minutes on 2 CPU cores.

Settings follow the calibration in ../shared/STACK_NOTES.md: Gumbel search with 16
simulations, 256 games in parallel, one random opening move then moves sampled from visit
counts, Monte-Carlo value targets (n covers the whole game, discount 1).
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
        preset="tictactoe",
        env=EnvConfig(id="tic_tac_toe"),
        network=NetworkConfig(
            torso="mlp",
            hidden_size=128,
            num_layers=2,
            latent_size=64,
            value_support=unit,
            reward_support=unit,
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=16, max_num_considered_actions=9),
        actor=ActorConfig(num_envs=256, unroll_length=8, random_opening_moves=1, temperature=1.0),
        replay=ReplayConfig(
            capacity=100_000, priority_exponent=1.0, importance_exponent=1.0, min_size=4_000
        ),
        learner=LearnerConfig(
            batch_size=512,
            unroll_steps=5,
            td_steps=9,
            discount=1.0,
            learning_rate=3e-3,
            warmup_steps=50,
            weight_decay=1e-4,
            updates_per_iteration=16,
            value_loss_weight=1.0,
        ),
        eval=EvalConfig(num_games=100, opponents=("random", "minimax")),
        run=RunConfig(time_budget_s=240.0, checkpoint_interval_s=60.0, snapshot_interval_s=30.0),
    )
