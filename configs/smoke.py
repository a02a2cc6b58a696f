"""End to end in well under a minute: a tiny tic-tac-toe run, a checkpoint and an evaluation.

The tictactoe preset scaled down everywhere; the tests use it for the run, resume and
recompilation checks.
"""

from dataclasses import replace

from configs import tictactoe
from muzero.config import Config, SupportConfig


def config() -> Config:
    base = tictactoe.config()
    unit = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=5, transform=False)
    return replace(
        base,
        preset="smoke",
        network=replace(
            base.network,
            hidden_size=32,
            num_layers=1,
            latent_size=16,
            value_support=unit,
            reward_support=unit,
        ),
        search=replace(base.search, num_simulations=4, max_num_considered_actions=4),
        actor=replace(base.actor, num_envs=16, unroll_length=8),
        replay=replace(base.replay, capacity=2_048, min_size=64),
        learner=replace(
            base.learner, batch_size=32, unroll_steps=3, updates_per_iteration=2, warmup_steps=5
        ),
        eval=replace(base.eval, num_games=8, opponents=("random",)),
        run=replace(
            base.run,
            time_budget_s=0.0,
            max_iterations=12,
            log_interval_s=1.0,
            checkpoint_interval_s=30.0,
            snapshot_interval_s=3.0,
            progress=False,
        ),
    )
