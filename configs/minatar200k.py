"""MinAtar at 200k environment steps with every EfficientZero addition: sample efficiency on
a CPU (`make train ENV=minatar200k`, Breakout-MinAtar; others with `--env.id`).

EfficientZero (Ye et al. 2021) at a scale two CPU cores can run: the same small MLP model as
`minatar_breakout`, but a budget of environment steps instead of wall time, far fewer steps
(200k, against the 15M that preset plays in its 27.5 minutes) and many more updates per step
(16 updates of 128 positions per 256 env steps: each step is sampled about 8 times), with
- Reanalyze: policy targets re-searched and value bootstraps re-evaluated with a target
  network copied every 200 updates (EfficientZero's interval; `reanalyze.policy_network`
  says why not the latest parameters);
- the temporal-consistency loss (weight 2, EfficientZero's), SimSiam heads of width 128;
- the value prefix: an LSTM over the unrolled latents, reset every 5 steps (EfficientZero's);
- the off-policy correction: one bootstrap step shorter per 60k env steps of a position's age
  (EfficientZero's 30% of the run's steps).
`experiments/efficientzero_ablation.py` turns them off one at a time against plain MuZero.

The value and reward supports are symmetric around zero, so an untrained network predicts a
value and reward of 0: with `minatar_breakout`'s [0, 10] value support (in h-space) zero
logits predict h^-1(5) = 36, an optimism the replay's bootstraps then carry for thousands of
updates, which a 200k-step run cannot afford.
"""

from dataclasses import replace

from configs import minatar_breakout
from muzero.config import (
    ActorConfig,
    Config,
    EvalConfig,
    ReanalyzeConfig,
    ReplayConfig,
    RunConfig,
    SupportConfig,
)


def config() -> Config:
    base = minatar_breakout.config()
    return replace(
        base,
        preset="minatar200k",
        network=replace(
            base.network,
            value_support=SupportConfig(min_value=-10.0, max_value=10.0, num_bins=41),
            reward_support=SupportConfig(min_value=-2.0, max_value=2.0, num_bins=13),
            projection_size=128,
            value_prefix_horizon=5,
            lstm_size=64,
        ),
        # Gumbel MuZero considers min(m, legal actions) root actions: 6 covers every MinAtar
        # game's action set (3 to 6), so one preset serves them all.
        search=replace(base.search, max_num_considered_actions=6),
        actor=ActorConfig(num_envs=32, unroll_length=8, action_selection="search"),
        replay=ReplayConfig(capacity=200_000, min_size=2_000),
        learner=replace(
            base.learner,
            batch_size=128,
            td_steps=10,
            decay_steps=0,
            updates_per_iteration=16,
            consistency_loss_weight=2.0,
            td_age_steps=60_000,
        ),
        reanalyze=ReanalyzeConfig(policy=True, value=True, target_update_interval=200),
        eval=EvalConfig(num_games=100, interval_env_steps=20_000),
        run=RunConfig(time_budget_s=0.0, max_env_steps=200_000, checkpoint_interval_s=120.0),
    )
