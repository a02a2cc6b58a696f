"""Go 9x9 (pgx, komi 7.5, Tromp-Taylor area scoring) on 2 CPU cores in about 20 minutes.

A starting point for `python -m muzero.cli.gtp` (GTP engine, matches against GNU Go), not a
strong player: an MLP over pgx's [9, 9, 17] planes (the last 8 positions of each colour and
the colour to play, so no frame history is needed), Gumbel search with 16 simulations, and
Monte-Carlo value targets (n covers pgx's 162-ply cap, discount 1).
"""

from dataclasses import replace

from configs import connect_four
from muzero.config import Config, EnvConfig


def config() -> Config:
    base = connect_four.config()
    return replace(
        base,
        preset="go_9x9",
        env=EnvConfig(id="go_9x9"),
        search=replace(base.search, max_num_considered_actions=16),
        actor=replace(base.actor, num_envs=128, random_opening_moves=2),
        # 300k frames of [9, 9, 17] would take 515 MB; half is plenty for 20 minutes.
        replay=replace(base.replay, capacity=150_000),
        learner=replace(base.learner, batch_size=256, td_steps=162, updates_per_iteration=8),
        eval=replace(base.eval, num_games=32, interval_s=600.0),
        run=replace(base.run, time_budget_s=1200.0, snapshot_interval_s=120.0),
    )
