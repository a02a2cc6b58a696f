"""Atari from raw pixels at the MuZero paper's scale (for GPUs): `make train ENV=atari`.

The default game is Breakout; any ALE game by name: `make train ENV=atari GAME=MsPacman`.
Paper settings (MuZero appendices C, F, G): 96x96 RGB frames, the last 32 frames and 32
actions as input, the downsampling ResNet with 16 blocks of 256 channels, pUCT search with 50
simulations, K = 5, n = 10, discount 0.997, batch 1024, value and reward supports of 601 bins
over [-300, 300] after h(x). Departures: AdamW instead of SGD with momentum, LayerNorm instead
of batch norm, a constant visit-count temperature of 1 (the paper lowers it over training),
and a 1M-frame replay (27.6 GB) in place of the paper's 125k sequences of 200 steps.
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
    wide = SupportConfig(min_value=-300.0, max_value=300.0, num_bins=601)
    return Config(
        preset="atari",
        env=EnvConfig(id=DEFAULT_GAME),
        history=HistoryConfig(frames=32, action_planes=True),
        network=NetworkConfig(
            torso="resnet",
            downsample=True,
            stem_blocks=(2, 3, 3),
            channels=256,
            num_blocks=16,
            hidden_size=256,
            value_support=wide,
            reward_support=wide,
        ),
        search=SearchConfig(algorithm="muzero", num_simulations=50),
        actor=ActorConfig(num_envs=128, unroll_length=16, action_selection="visits"),
        replay=ReplayConfig(capacity=1_000_000, min_size=50_000),
        learner=LearnerConfig(
            batch_size=1024,
            unroll_steps=5,
            td_steps=10,
            discount=0.997,
            learning_rate=3e-4,
            warmup_steps=1_000,
            updates_per_iteration=8,
        ),
        eval=EvalConfig(num_games=32, interval_s=3_600.0),
        run=RunConfig(time_budget_s=0.0, max_env_steps=50_000_000, checkpoint_interval_s=1_800.0),
    )
