"""Atari end to end on a CPU in minutes: `make train ENV=atari_smoke GAME=Pong`.

Every Atari path at toy size: pixels from ale-py (grayscale here, to stay small), a 4-frame
history with action planes, the downsampling ResNet, the host actor, frame replay, a
checkpoint and a greedy evaluation of two short episodes. It shows that the pipeline runs,
not that it learns: convolutions on 96x96 frames are too slow on a CPU for that
(../shared/STACK_NOTES.md); `minatar_breakout` is the pixel domain that learns on CPU.
"""

from muzero.config import (
    ActorConfig,
    Config,
    EnvConfig,
    EvalConfig,
    HistoryConfig,
    LearnerConfig,
    NetworkConfig,
    ReplayConfig,
    RunConfig,
    SearchConfig,
    SupportConfig,
)


def config() -> Config:
    support = SupportConfig(min_value=-10.0, max_value=10.0, num_bins=21)
    return Config(
        preset="atari_smoke",
        env=EnvConfig(id="ALE/Pong", grayscale=True, max_episode_steps=400, env_threads=2),
        history=HistoryConfig(frames=4, action_planes=True),
        network=NetworkConfig(
            torso="resnet",
            downsample=True,
            stem_blocks=(1, 1, 1),
            channels=16,
            num_blocks=1,
            hidden_size=32,
            value_support=support,
            reward_support=support,
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=4, max_num_considered_actions=4),
        actor=ActorConfig(num_envs=8, unroll_length=8, action_selection="search"),
        replay=ReplayConfig(capacity=4_096, min_size=128),
        learner=LearnerConfig(
            batch_size=16, unroll_steps=3, td_steps=5, warmup_steps=5, updates_per_iteration=2
        ),
        eval=EvalConfig(num_games=2),
        run=RunConfig(
            time_budget_s=0.0, max_iterations=12, log_interval_s=5.0, checkpoint_interval_s=60.0
        ),
    )
