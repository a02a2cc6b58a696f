"""CartPole-v1 (gymnax): a mean greedy return of 475+ in 1.2M environment steps (about 5
minutes on 2 CPU cores).

The run stops at a fixed number of environment steps, not a wall-clock budget, so where it
stops does not depend on how fast the machine is: a seed ends with the same parameters (bit
for bit on the same CPU and software) and the README's figure can be reproduced.
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
        preset="cartpole",
        env=EnvConfig(id="CartPole-v1"),
        network=NetworkConfig(
            torso="mlp",
            hidden_size=128,
            num_layers=2,
            latent_size=64,
            value_support=SupportConfig(min_value=0.0, max_value=20.0, num_bins=41),
            reward_support=SupportConfig(min_value=-2.0, max_value=2.0, num_bins=9),
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=16, max_num_considered_actions=2),
        actor=ActorConfig(num_envs=128, unroll_length=16, action_selection="search"),
        replay=ReplayConfig(capacity=200_000, min_size=4_000),
        learner=LearnerConfig(
            batch_size=256,
            unroll_steps=5,
            # Long TD horizon: the cart's slow drift to the track's edge only shows in the
            # value 50+ steps ahead; with n = 10 the greedy policy drifted out (mean 344).
            td_steps=50,
            discount=0.997,
            learning_rate=3e-3,
            warmup_steps=50,
            # Cosine decay to a tenth over the run's 9,296 updates (1.2M steps / 2,048 per
            # iteration, 16 updates each once the replay holds 4,000 positions): with a
            # constant rate the greedy return swung between checkpoints (232, 400, 500 over
            # seeds 0-2 at the last one); decayed, 486, 500, ... (README).
            decay_steps=9_250,
            updates_per_iteration=16,
        ),
        eval=EvalConfig(num_games=100),
        run=RunConfig(time_budget_s=0.0, max_env_steps=1_200_000, checkpoint_interval_s=60.0),
    )
