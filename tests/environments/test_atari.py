"""Atari through ale-py: preprocessing against frames built by hand from a single emulator,
sticky actions, unclipped rewards, truncation, the env contract, replay memory accounting,
and an atari_smoke checkpoint played by `muzero.Agent` from raw gymnasium frames."""

import dataclasses

import jax
import numpy as np
import pytest
from ale_py import ALEInterface, LoggerMode, roms

import envs
from configs import get_preset
from envs.atari import game_id, make_atari, preprocess_frame
from envs.contract import check_host_env_contract
from muzero.config import Config, EnvConfig
from muzero.replay import buffer as R
from muzero.runtime import components, memory, runs, training

ALEInterface.setLoggerMode(LoggerMode.Error)


def env_config(game="ALE/Breakout", **changes):
    base = dict(noop_max=0, sticky_action_prob=0.0, env_threads=1)
    return EnvConfig(id=game, **(base | changes))


def test_game_names():
    assert game_id("Pong") == game_id("pong") == game_id("ALE/Pong") == "ALE/Pong"
    assert game_id("ms_pacman") == game_id("MsPacman") == "ALE/MsPacman"
    with pytest.raises(ValueError, match="unknown Atari game"):
        game_id("NotAGame")
    # The command line takes any spelling; a config built in Python must use the ALE name.
    assert envs.canonical_id("ALE/space_invaders") == "ALE/SpaceInvaders"
    with pytest.raises(ValueError, match="'ALE/space_invaders' is spelled 'ALE/SpaceInvaders'"):
        components.check_config(Config(env=EnvConfig(id="ALE/space_invaders")))


@pytest.mark.parametrize("grayscale", [False, True])
def test_frames_are_the_max_of_the_last_two_then_an_area_resize(grayscale):
    """Step a single emulator frame by frame alongside the vector env: each observation
    equals the max of the last two of the four skipped frames, area-resized to 96x96."""
    env = make_atari(env_config(grayscale=grayscale), 1, seed=0)
    env.reset()
    ale = ALEInterface()
    ale.setInt("random_seed", 0)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path("breakout"))
    ale.reset_game()
    actions = ale.getMinimalActionSet()
    for t in range(40):
        a = 1 if t % 8 == 0 else (2 if t % 3 else 3)  # FIRE now and then, paddle moving
        observation = env.step(np.array([a])).observation[0]
        screens = []
        for _ in range(4):
            ale.act(actions[a])
            screens.append(ale.getScreenRGB())
        expected = preprocess_frame(np.maximum(screens[-1], screens[-2]), 96, grayscale)
        assert observation.shape == expected.shape == (96, 96, 1 if grayscale else 3)
        # RGB is exact; grayscale from RGB by ITU-R 601 luma is within rounding of ALE's.
        assert np.abs(observation.astype(int) - expected).max() <= (1 if grayscale else 0)
    # The frames moved: the test compares real pictures, not blank screens.
    assert len(np.unique(observation)) > 2
    env.close()


def test_sticky_actions_repeat_the_previous_action():
    """With probability 1 the emulator repeats the previous action forever (NOOP at the start),
    so pressing RIGHT gives the frames of doing nothing; with probability 0 it does not."""

    def frames(sticky, action):
        env = make_atari(env_config(sticky_action_prob=sticky), 1, seed=0)
        env.reset()
        out = [env.step(np.array([action])).observation[0] for _ in range(30)]
        env.close()
        return np.stack(out)

    noop = frames(0.0, 0)
    np.testing.assert_array_equal(frames(1.0, 2), noop)
    assert np.any(frames(0.0, 2) != noop)


def test_rewards_are_not_clipped_and_episodes_are_truncated():
    env = make_atari(env_config("ALE/SpaceInvaders", max_episode_steps=300), 2, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    steps = [env.step(rng.integers(0, env.spec.num_actions, 2)) for _ in range(301)]
    rewards = np.stack([s.reward for s in steps])
    assert rewards.max() > 1  # invaders are worth 5 to 30 points
    truncated = np.stack([s.truncated for s in steps])
    terminated = np.stack([s.terminated for s in steps])
    # Truncated at exactly step 300 unless the game ended first.
    for e in range(2):
        if not terminated[:300, e].any():
            assert truncated[299, e] and not truncated[:299, e].any()
    env.close()


def test_host_env_contract():
    env = make_atari(env_config("ALE/Pong", sticky_action_prob=0.25, noop_max=30), 3, seed=1)
    check_host_env_contract(env, num_steps=64)
    assert env.spec.observation_shape == (96, 96, 3) and env.spec.num_actions == 6
    env.close()
    assert envs.spec(env_config("ALE/Pong", full_action_space=True)).num_actions == 18


def test_replay_memory_is_counted_and_a_replay_too_big_is_refused(monkeypatch):
    config = get_preset("atari_smoke")
    spec = envs.spec(config.env)
    e, length = config.actor.num_envs, config.replay_steps_per_env
    # frame, action, reward, terminated, truncated, root value, policy, legal mask, priority
    per_record = 96 * 96 * 1 + 4 + 4 + 1 + 1 + 4 + 4 * spec.num_actions + spec.num_actions + 4
    expected = e * length * per_record + 4 + 4
    assert R.replay_bytes(spec, e, length) == expected
    allocated = R.init_replay(spec, e, length)
    assert sum(x.nbytes for x in jax.tree.leaves(allocated)) == expected
    million = config.replace(
        replay=dataclasses.replace(config.replay, capacity=1_000_000),
        actor=dataclasses.replace(config.actor, num_envs=64, unroll_length=16),
    )
    frames = 64 * million.replay_steps_per_env
    storage = frames * per_record + 8
    # In flight: one acting chunk (16 x 64 records) and one batch of 16 histories of 4
    # frames with 4 action planes, gathered then stacked (twice).
    working = storage + (16 * 64 * per_record + 8) + 2 * 16 * 96 * 96 * 8
    assert memory.replay_bytes(million, spec) == (storage, working)
    summary = memory.replay_summary(million, spec)
    assert f"{frames:,} frames of 96x96x1 uint8" in summary
    assert memory.describe(storage) in summary and memory.describe(working) in summary
    big = config.replace(replay=dataclasses.replace(config.replay, capacity=1_048_576))
    monkeypatch.setattr(memory, "free_host_bytes", lambda: 2_000_000_000)
    with pytest.raises(ValueError, match=r"replay.capacity 1,048,576 frames needs 9\.7"):
        components.check_config(big)


def test_atari_smoke_checkpoint_plays_raw_gymnasium_frames(atari_smoke_run):
    import gymnasium as gym

    from muzero import Agent

    assert (atari_smoke_run / "eval.json").exists()
    agent = Agent.load(atari_smoke_run)
    env = gym.make("ALE/Pong-v5")
    observation, _ = env.reset(seed=0)
    assert observation.shape == (210, 160, 3)
    agent.reset()
    for step in range(6):
        result = agent.search(observation)  # looks, does not advance the history
        action = agent.act(observation)
        assert action == result.action and 0 <= action < env.action_space.n
        filled = int((np.asarray(agent._history.actions) >= 0).sum())
        assert filled == min(step, agent.config.history.frames)
        observation, *_ = env.step(action)
    agent.reset()
    assert not np.asarray(agent._history.frames).any()
    with pytest.raises(ValueError, match=r"raw ALE frame \(210, 160, 3\)"):
        agent.act(np.zeros((84, 84, 3), np.uint8))
    env.close()


@pytest.mark.slow  # resume as tests/runtime covers it, plus the host actor's interrupted episodes
def test_resumed_atari_run_ends_the_interrupted_episodes(atari_smoke_run):
    """Emulator states are not checkpointed: resuming marks each column's newest record as
    truncated, then plays on with fresh episodes."""
    import jax.numpy as jnp

    from muzero.acting.host_actor import mark_interrupted

    spec = envs.spec(env_config("ALE/Pong"))
    replay = R.init_replay(spec, 2, 8)
    replay = replay.replace(steps_written=jnp.int32(11))  # newest record in slot 2
    marked = mark_interrupted(replay)
    np.testing.assert_array_equal(np.asarray(marked.truncated)[:, 2], [True, True])
    assert int(np.asarray(marked.truncated).sum()) == 2

    config = runs.load_run_config(atari_smoke_run)
    config = config.replace(run=dataclasses.replace(config.run, max_iterations=6))
    training.run(config, resume=atari_smoke_run, evaluate_at_end=False)
    summary = (atari_smoke_run / "summary.json").read_text()
    assert '"iterations": 6' in summary


class CountingEnv:
    """A stand-in host env: frame values count the steps taken, the reward echoes the action
    received (10 a + the env's index), and env 0 of each batch ends an episode every 5 steps."""

    def __init__(self, spec, num_envs):
        self.spec, self.num_envs, self.steps = spec, num_envs, 0
        self.sent = None

    def _timestep(self, reward, terminated):
        from envs.core import TimeStep

        n = self.num_envs
        frames = np.full((n, *self.spec.observation_shape), self.steps + 1, np.uint8)
        return TimeStep(
            observation=frames,
            reward=np.asarray(reward, np.float32),
            terminated=terminated,
            truncated=np.zeros(n, bool),
            legal_mask=np.ones((n, self.spec.num_actions), bool),
            to_play=np.zeros(n, np.int32),
        )

    def reset(self):
        return self._timestep(np.zeros(self.num_envs), np.zeros(self.num_envs, bool))

    def send(self, actions):
        self.sent = np.asarray(actions)

    def recv(self):
        self.steps += 1
        terminated = np.zeros(self.num_envs, bool)
        terminated[0] = self.steps % 5 == 0
        return self._timestep(10 * self.sent + np.arange(self.num_envs), terminated)

    def close(self):
        pass


def test_host_actor_keeps_frames_actions_and_results_aligned(monkeypatch):
    """Two groups take turns; every record must pair the frame searched with the action sent
    and the reward and episode end that action produced, and histories restart at episode
    starts."""
    from muzero.acting.host_actor import HostActor

    config = get_preset("atari_smoke")
    spec = envs.spec(config.env)
    monkeypatch.setattr(envs, "make_host", lambda cfg, n, seed, noop_max=None: CountingEnv(spec, n))
    c = components.build(config)
    params = components.init_state(c, 0)["train_state"].params
    actor = HostActor(config, spec, c.search, seed=0)
    assert len(actor.groups) == 2
    trajectory, stats = actor.act(params, jax.random.key(0))
    obs = np.asarray(trajectory.observation)[:, :, 0, 0, 0]  # [T, E]
    action = np.asarray(trajectory.action)
    steps, num_envs = action.shape
    assert (steps, num_envs) == (config.actor.unroll_length, config.actor.num_envs)
    np.testing.assert_array_equal(obs, np.arange(1, steps + 1)[:, None] * np.ones((1, num_envs)))
    index = np.arange(num_envs) % 4  # each group holds 4 envs
    np.testing.assert_array_equal(np.asarray(trajectory.reward), 10 * action + index[None, :])
    ended = np.asarray(trajectory.terminated)
    np.testing.assert_array_equal(ended[:, 0], (np.arange(1, steps + 1) % 5) == 0)
    assert not ended[:, index != 0].any()
    assert stats.episodes == 2  # env 0 of each group, after step 5
    # The histories (4 frames) after the last search: env 0 restarted at frame 6.
    frames = np.asarray(actor.groups[0].history.frames)[:, :, 0, 0, 0]
    np.testing.assert_array_equal(frames[0], [0, 6, 7, 8])
    np.testing.assert_array_equal(frames[1], [5, 6, 7, 8])
