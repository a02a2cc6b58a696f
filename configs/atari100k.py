"""Atari 100k at EfficientZero's scale: 100k agent steps (400k frames) of one game.

`make train ENV=atari100k GAME=Pong`. EfficientZero's (Ye et al. 2021) network and input: a
4-frame stack of 96x96 RGB frames without action planes, a downsampling ResNet of 64 channels
with one block per stage and one trunk block, pUCT with 50 simulations, K = 5, n = 5, batch
256, about one update per agent step, no sticky actions (the Atari 100k protocol). Without
EfficientZero's self-supervised consistency loss, value prefix and off-policy correction this
is MuZero at that scale, not EfficientZero.
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

DEFAULT_GAME = "ALE/Breakout"


def config() -> Config:
    support = SupportConfig(min_value=-300.0, max_value=300.0, num_bins=601)
    return Config(
        preset="atari100k",
        env=EnvConfig(id=DEFAULT_GAME, sticky_action_prob=0.0),
        history=HistoryConfig(frames=4, action_planes=False),
        network=NetworkConfig(
            torso="resnet",
            downsample=True,
            stem_blocks=(1, 1, 1),
            channels=64,
            num_blocks=1,
            hidden_size=64,
            value_support=support,
            reward_support=support,
        ),
        search=SearchConfig(algorithm="muzero", num_simulations=50),
        actor=ActorConfig(num_envs=8, unroll_length=16, action_selection="visits"),
        replay=ReplayConfig(capacity=100_000, min_size=2_000),
        learner=LearnerConfig(
            batch_size=256,
            unroll_steps=5,
            td_steps=5,
            discount=0.997,
            learning_rate=1e-3,
            warmup_steps=1_000,
            updates_per_iteration=128,
        ),
        eval=EvalConfig(num_games=32),
        run=RunConfig(time_budget_s=0.0, max_env_steps=100_000, checkpoint_interval_s=600.0),
    )
