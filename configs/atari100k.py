"""Atari 100k at EfficientZero's scale: 100k agent steps (400k frames) of one game.

`make train ENV=atari100k GAME=Pong`. EfficientZero's (Ye et al. 2021) network and input: a
4-frame stack of 96x96 RGB frames without action planes, a downsampling ResNet of 64 channels
with one block per stage and one trunk block, pUCT with 50 simulations, K = 5, n = 5, batch
256, about one update per agent step, no sticky actions (the Atari 100k protocol). Without
EfficientZero's self-supervised consistency loss, value prefix and off-policy correction this
is MuZero at that scale, not EfficientZero.
"""

from dataclasses import replace

from configs import atari
from muzero.config import Config, HistoryConfig


def config() -> Config:
    base = atari.config()
    return replace(
        base,
        preset="atari100k",
        env=replace(base.env, sticky_action_prob=0.0),
        history=HistoryConfig(frames=4, action_planes=False),
        network=replace(
            base.network, stem_blocks=(1, 1, 1), channels=64, num_blocks=1, hidden_size=64
        ),
        actor=replace(base.actor, num_envs=8),
        replay=replace(base.replay, capacity=100_000, min_size=2_000),
        learner=replace(
            base.learner,
            batch_size=256,
            td_steps=5,
            learning_rate=1e-3,
            updates_per_iteration=128,
        ),
        eval=replace(base.eval, interval_s=0.0),
        run=replace(base.run, max_env_steps=100_000, checkpoint_interval_s=600.0),
    )
