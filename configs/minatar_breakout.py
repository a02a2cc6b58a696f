"""MinAtar Breakout (gymnax `Breakout-MinAtar`): the small pixel domain that learns on CPU.

10x10x4 binary planes, 3 actions, +1 per brick, the episode ends when the ball is missed (a
uniformly random policy scores under 1). Target: a mean greedy return of 10+ within 30
minutes on 2 CPU cores (`make train ENV=minatar_breakout`). The other MinAtar games run with
the same settings through `--env.id` (Asterix-MinAtar, Freeway-MinAtar, SpaceInvaders-MinAtar).
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
    return Config(
        preset="minatar_breakout",
        env=EnvConfig(id="Breakout-MinAtar"),
        network=NetworkConfig(
            # An MLP over the flattened planes: on this CPU a convolutional torso costs about
            # ten times more per search for a 10x10 board (../shared/STACK_NOTES.md).
            torso="mlp",
            hidden_size=128,
            num_layers=2,
            latent_size=128,
            value_support=SupportConfig(min_value=0.0, max_value=10.0, num_bins=41),
            reward_support=SupportConfig(min_value=-1.0, max_value=2.0, num_bins=13),
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=8, max_num_considered_actions=3),
        actor=ActorConfig(num_envs=256, unroll_length=16, action_selection="search"),
        replay=ReplayConfig(capacity=262_144, min_size=8_192),
        learner=LearnerConfig(
            batch_size=256,
            unroll_steps=5,
            td_steps=10,
            discount=0.99,
            learning_rate=3e-3,
            warmup_steps=100,
            # Cosine decay over about the updates a 27.5-minute run makes (about 47 per
            # second): with a constant rate the greedy policy kept flipping between good and
            # poor behaviour late in training (mean 7.1, runs of 3 and of 12).
            decay_steps=75_000,
            final_lr_fraction=0.1,
            updates_per_iteration=32,
        ),
        eval=EvalConfig(num_games=100, interval_s=300.0),
        run=RunConfig(time_budget_s=1650.0, checkpoint_interval_s=120.0),
    )
