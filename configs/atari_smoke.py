"""Atari end to end on a CPU in minutes: `make train ENV=atari_smoke GAME=Pong`.

Every Atari path at toy size: pixels from ale-py (grayscale here, to stay small), a 4-frame
history with action planes, the downsampling ResNet, the host actor, frame replay, a
checkpoint and a greedy evaluation of two short episodes. It shows that the pipeline runs,
not that it learns: convolutions on 96x96 frames are too slow on a CPU for that
(../shared/STACK_NOTES.md); `minatar_breakout` is the pixel domain that learns on CPU.
"""

from dataclasses import replace

from configs import atari100k
from muzero.config import Config, HistoryConfig, SearchConfig, SupportConfig


def config() -> Config:
    base = atari100k.config()
    support = SupportConfig(min_value=-10.0, max_value=10.0, num_bins=21)
    return replace(
        base,
        preset="atari_smoke",
        env=replace(
            base.env,
            id="ALE/Pong",
            sticky_action_prob=0.25,
            grayscale=True,
            max_episode_steps=400,
            env_threads=2,
        ),
        history=HistoryConfig(frames=4, action_planes=True),
        network=replace(
            base.network,
            channels=16,
            hidden_size=32,
            value_support=support,
            reward_support=support,
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=4, max_num_considered_actions=4),
        actor=replace(base.actor, unroll_length=8, action_selection="search"),
        replay=replace(base.replay, capacity=4_096, min_size=128),
        learner=replace(
            base.learner,
            batch_size=16,
            unroll_steps=3,
            td_steps=5,
            discount=0.997,
            learning_rate=3e-3,
            warmup_steps=5,
            updates_per_iteration=2,
        ),
        eval=replace(base.eval, num_games=2),
        run=replace(
            base.run,
            max_env_steps=0,
            max_iterations=12,
            log_interval_s=5.0,
            checkpoint_interval_s=60.0,
        ),
    )
