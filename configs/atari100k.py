"""Atari 100k with EfficientZero's settings: 100k agent steps (400k frames) of one game.

`make train ENV=atari100k GAME=Pong`. EfficientZero (Ye et al. 2021; its code, YeWR/EfficientZero,
config/atari) on MuZero's loop: a 4-frame stack of 96x96 RGB frames without action planes, a
downsampling ResNet of 64 channels with one block per stage and one trunk block, pUCT with 50
simulations, K = 5, n = 5, discount 0.997, batch 256, one update per agent step (128 updates
per 8 x 16 steps), priorities alpha 0.6 and beta 0.4, and its three additions:
- the temporal-consistency loss, weight 2, SimSiam heads of 1024 (prediction hidden 512);
- the value prefix, an LSTM of 512 reset every 5 steps;
- the off-policy correction, one bootstrap step shorter per 30k steps of a position's age (30%
  of the run), bootstrapped from a target network copied every 200 updates;
with Reanalyze of every sampled position's policy (the search re-run with the target network)
and value.

Where this departs from EfficientZero, and why:
- AdamW at 1e-3 instead of SGD with momentum at 0.2 (one optimizer for every preset; SGD's
  schedule has not been tried here);
- LayerNorm instead of batch norm (no batch statistics to carry through the search);
- no random-shift augmentation of the observations (not implemented yet);
- unclipped rewards and no life-loss episode ends: the loop sees frames, rewards and episode
  ends only, as in every preset (the value transform h handles the reward scale);
- beta stays 0.4 (EfficientZero anneals it to 1 over training);
- reanalysis re-searches every sampled position (EfficientZero 99%).
"""

from dataclasses import replace

from configs import atari
from muzero.config import Config, HistoryConfig, ReanalyzeConfig


def config() -> Config:
    base = atari.config()
    return replace(
        base,
        preset="atari100k",
        env=replace(base.env, sticky_action_prob=0.0),
        history=HistoryConfig(frames=4, action_planes=False),
        network=replace(
            base.network,
            stem_blocks=(1, 1, 1),
            channels=64,
            num_blocks=1,
            hidden_size=64,
            projection_size=1024,
            value_prefix_horizon=5,
            lstm_size=512,
        ),
        actor=replace(base.actor, num_envs=8),
        replay=replace(
            base.replay,
            capacity=100_000,
            min_size=2_000,
            priority_exponent=0.6,
            importance_exponent=0.4,
        ),
        learner=replace(
            base.learner,
            batch_size=256,
            td_steps=5,
            learning_rate=1e-3,
            updates_per_iteration=128,
            consistency_loss_weight=2.0,
            td_age_steps=30_000,
        ),
        reanalyze=ReanalyzeConfig(policy=True, value=True, target_update_interval=200),
        eval=replace(base.eval, interval_s=0.0),
        run=replace(base.run, max_env_steps=100_000, checkpoint_interval_s=600.0),
    )
