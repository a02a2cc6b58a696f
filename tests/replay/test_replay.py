import jax
import jax.numpy as jnp
import numpy as np
import pytest

from muzero.learning.targets import batch_targets
from muzero.replay import buffer as R
from muzero.types import EnvSpec

SPEC = EnvSpec(
    "test",
    num_actions=3,
    observation_shape=(2,),
    observation_dtype=np.dtype("float32"),
    num_players=1,
)


# Jitted once per shape: the eager versions spend their time dispatching small ops.
add = jax.jit(R.add)
sample = jax.jit(R.sample, static_argnames=(
    "batch_size", "unroll_steps", "td_steps", "priority_exponent", "importance_exponent",
    "history_frames", "action_planes", "next_observations", "legal_masks", "strata",
))  # fmt: skip


def chunk(t, e, start):
    """A [T, E] chunk whose observation encodes (time, env) so samples can be traced back."""
    time = jnp.arange(start, start + t, dtype=jnp.float32)[:, None] * jnp.ones((1, e))
    env = jnp.ones((t, 1)) * jnp.arange(e, dtype=jnp.float32)[None, :]
    return R.Trajectory(
        observation=jnp.stack([time, env], -1),
        action=jnp.zeros((t, e), jnp.int32),
        reward=time,
        terminated=jnp.zeros((t, e), bool),
        truncated=jnp.zeros((t, e), bool),
        root_value=jnp.zeros((t, e)),
        policy=jnp.ones((t, e, 3)) / 3,
        # legal actions 0 .. time % 3: each record's mask names its time too
        legal_mask=jnp.arange(3)[None, None, :] <= (time % 3)[..., None],
    )


def test_ring_keeps_the_newest_steps_within_capacity():
    replay = R.init_replay(SPEC, num_envs=2, steps_per_env=8)
    for i in range(5):  # 20 steps into a ring of 8 per env
        replay = add(replay, chunk(4, 2, 4 * i))
    assert replay.observation.shape == (2, 8, 2)
    assert int(replay.steps_written) == 20
    np.testing.assert_array_equal(
        np.sort(np.asarray(replay.observation[0, :, 0])), np.arange(12, 20)
    )


def test_only_positions_with_a_full_window_are_valid():
    replay = R.init_replay(SPEC, num_envs=2, steps_per_env=8)
    replay = add(replay, chunk(4, 2, 0))
    replay = add(replay, chunk(4, 2, 4))
    replay = add(replay, chunk(4, 2, 8))  # times 4..11 in the ring
    valid = np.asarray(R.valid_positions(replay, lookahead=3))
    times = np.asarray(replay.observation[..., 0])
    np.testing.assert_array_equal(valid, times <= 11 - 3)


def test_samples_come_from_valid_positions_with_their_window():
    replay = R.init_replay(SPEC, num_envs=3, steps_per_env=16)
    for i in range(6):
        replay = add(replay, chunk(4, 3, 4 * i))
    batch = sample(
        replay,
        jax.random.key(0),
        batch_size=256,
        unroll_steps=2,
        td_steps=2,
        priority_exponent=1.0,
        importance_exponent=1.0,
        legal_masks=True,
    )
    t0 = np.asarray(batch.observation[:, 0])
    assert t0.min() >= 24 - 16 and t0.max() <= 23 - 4
    # reward of record j is its time, so the reward target at offset 1 is the start time.
    targets = batch_targets(batch.window, unroll_steps=2, td_steps=2, discount=1.0)
    np.testing.assert_allclose(targets.reward[:, 1], t0)
    # value target with n=2, root values 0: r_t + r_{t+1} = 2 t + 1
    np.testing.assert_allclose(targets.value[:, 0], 2 * t0 + 1)
    # each record's root legal mask comes with it: actions 0 .. time % 3
    times = t0[:, None] + np.arange(5)[None, :]
    expected = np.arange(3)[None, None, :] <= (times % 3)[..., None]
    np.testing.assert_array_equal(batch.window.legal_mask, expected)
    # only reanalysis asks for them; the learner's plain sample leaves them out
    plain = sample(replay, jax.random.key(0), batch_size=4, unroll_steps=2, td_steps=2,
                   priority_exponent=1.0, importance_exponent=1.0)  # fmt: skip
    assert plain.window.legal_mask is None
    # 24 records written to every column: the one at time t has 24 - t of them since
    np.testing.assert_array_equal(batch.age, 24 - t0)


def test_observations_at_any_offsets_after_the_positions():
    replay = R.init_replay(SPEC, num_envs=3, steps_per_env=16)
    for i in range(6):
        replay = add(replay, chunk(4, 3, 4 * i))
    batch = sample(
        replay, jax.random.key(1), batch_size=64, unroll_steps=2, td_steps=2,
        priority_exponent=0.0, importance_exponent=0.0,
    )  # fmt: skip
    offsets = jnp.stack([jnp.arange(64) % 5, jnp.zeros(64, int)], axis=1)  # [B, 2]
    seen = R.observations_at(replay, batch.index, offsets)
    t0, env = np.asarray(batch.observation[:, 0]), np.asarray(batch.observation[:, 1])
    np.testing.assert_array_equal(seen[:, 0, 0], t0 + np.arange(64) % 5)
    np.testing.assert_array_equal(seen[:, 0, 1], env)
    np.testing.assert_array_equal(seen[:, 1], batch.observation)


def test_replay_gives_the_observations_of_the_next_k_records():
    replay = R.init_replay(SPEC, num_envs=3, steps_per_env=16)
    for i in range(6):
        replay = add(replay, chunk(4, 3, 4 * i))
    batch = sample(
        replay, jax.random.key(0), batch_size=128, unroll_steps=3, td_steps=2,
        priority_exponent=0.0, importance_exponent=0.0, next_observations=True,
    )  # fmt: skip
    t0 = np.asarray(batch.observation[:, 0])
    later = np.asarray(batch.next_observation)
    assert later.shape == (128, 3, 2)
    # the observation encodes (time, env): k records later is time t0 + k, the same env.
    np.testing.assert_array_equal(later[:, :, 0], t0[:, None] + np.arange(1, 4)[None, :])
    np.testing.assert_array_equal(later[:, :, 1], np.repeat(batch.observation[:, 1:], 3, 1))


def test_priorities_shape_sampling_and_importance_weights():
    replay = R.init_replay(SPEC, num_envs=1, steps_per_env=16)
    for i in range(4):
        replay = add(replay, chunk(4, 1, 4 * i))
    valid = np.asarray(R.valid_positions(replay, lookahead=2)).reshape(-1)
    priority = np.where(valid, 1.0, 0.0)
    target = int(np.flatnonzero(valid)[3])
    priority[target] = 9.0
    replay = R.update_priorities(replay, jnp.arange(16), jnp.asarray(priority, jnp.float32))
    batch = sample(
        replay, jax.random.key(1), batch_size=4000, unroll_steps=1, td_steps=1,
        priority_exponent=1.0, importance_exponent=1.0,
    )  # fmt: skip
    index = np.asarray(batch.index)
    assert valid[index].all()
    share = np.mean(index == target)
    expected = 9.0 / (valid.sum() - 1 + 9.0)
    assert share == pytest.approx(expected, abs=0.03)
    weight = np.asarray(batch.weight)
    # The over-sampled position is down-weighted by exactly its priority ratio (beta = 1),
    # and the weights average one so they do not change the learning rate.
    assert weight[index == target].max() == pytest.approx(weight.max() / 9.0, rel=1e-4)
    assert weight.mean() == pytest.approx(1.0, rel=1e-5)


def test_sample_proportional_never_picks_zero_weight():
    weights = jnp.asarray([0.0, 1.0, 0.0, 2.0, 0.0, 0.0])
    index = np.asarray(R.sample_proportional(jax.random.key(3), weights, 10_000))
    assert set(np.unique(index)) <= {1, 3}
    assert np.mean(index == 3) == pytest.approx(2 / 3, abs=0.03)


# ---- stratified sampling: D blocks of environments, each drawing B / D positions ----


def _filled(num_envs: int, steps: int = 16, chunks: int = 6):
    replay = R.init_replay(SPEC, num_envs=num_envs, steps_per_env=steps)
    for i in range(chunks):
        replay = add(replay, chunk(4, num_envs, 4 * i))
    return replay


def test_each_stratum_draws_its_rows_from_its_own_block_of_environments():
    """With 4 strata over 8 environments, rows 16 d .. 16 d + 15 of a batch of 64 come from
    environments 2 d and 2 d + 1 (the columns device d would hold), with their own windows,
    next observations and legal masks; `index` stays flat in the whole [E * L], so the
    unstratified `observations_at` reads the same records from it."""
    replay = _filled(num_envs=8)
    strata = R.Strata(count=4)
    batch = sample(
        replay, jax.random.key(0), batch_size=64, unroll_steps=2, td_steps=2,
        priority_exponent=1.0, importance_exponent=1.0, next_observations=True,
        legal_masks=True, strata=strata,
    )  # fmt: skip
    t0, env = np.asarray(batch.observation[:, 0]), np.asarray(batch.observation[:, 1])
    np.testing.assert_array_equal(env // 2, np.repeat(np.arange(4), 16))
    np.testing.assert_array_equal(np.asarray(batch.index) // 16, env)  # L = 16
    assert t0.min() >= 24 - 16 and t0.max() <= 23 - 4  # valid positions only
    targets = batch_targets(batch.window, unroll_steps=2, td_steps=2, discount=1.0)
    np.testing.assert_allclose(targets.reward[:, 1], t0)  # the reward of record t is t
    later = np.asarray(batch.next_observation)
    np.testing.assert_array_equal(later[:, :, 0], t0[:, None] + np.arange(1, 3)[None, :])
    np.testing.assert_array_equal(later[:, :, 1], np.repeat(env[:, None], 2, 1))
    times = t0[:, None] + np.arange(5)[None, :]
    expected_mask = np.arange(3)[None, None, :] <= (times % 3)[..., None]
    np.testing.assert_array_equal(batch.window.legal_mask, expected_mask)
    offsets = jnp.stack([jnp.arange(64) % 5, jnp.zeros(64, int)], axis=1)
    np.testing.assert_array_equal(
        R.observations_at(replay, batch.index, offsets, strata=strata),
        R.observations_at(replay, batch.index, offsets),
    )


@pytest.mark.parametrize("strata", [1, 2])
def test_strata_draw_and_weigh_by_their_own_priorities(strata):
    """The draws and weights of D strata, recomputed with numpy: stratum d draws with its own
    key (the call's key itself when D = 1, the unstratified sampler) by its columns' p^alpha,
    so P(i) = (1 / D) p_i^alpha / S_d; the weights are (N P(i))^-beta over the N valid
    positions of the whole replay, normalised to mean one over the whole batch."""
    replay = _filled(num_envs=2)
    valid = np.asarray(R.valid_positions(replay, lookahead=2)).reshape(2, 16)
    # Environment 0: priority 1 everywhere but 3 at one position; environment 1: priority 2.
    priority = np.where(valid, [[1.0], [2.0]], 0.0)
    priority[0, np.flatnonzero(valid[0])[2]] = 3.0
    replay = R.update_priorities(replay, jnp.arange(32), jnp.asarray(priority.reshape(-1)))
    alpha, beta, batch_size = 0.5, 0.8, 512
    key = jax.random.key(4)
    batch = sample(
        replay, key, batch_size=batch_size, unroll_steps=1, td_steps=1,
        priority_exponent=alpha, importance_exponent=beta, strata=R.Strata(count=strata),
    )  # fmt: skip
    scaled = np.where(valid, (priority + R.PRIORITY_EPS) ** alpha, 0.0).reshape(strata, -1)
    keys = [key] if strata == 1 else list(jax.random.split(key, strata))
    per = batch_size // strata
    expected = np.concatenate([
        np.asarray(R.sample_proportional(k, jnp.asarray(s, jnp.float32), per)) + d * s.size
        for d, (k, s) in enumerate(zip(keys, scaled, strict=True))
    ])  # fmt: skip
    index = np.asarray(batch.index)
    np.testing.assert_array_equal(index, expected)
    probability = (scaled / scaled.sum(axis=1, keepdims=True) / strata).reshape(-1)[index]
    weight = (valid.sum() * probability) ** -beta
    np.testing.assert_allclose(batch.weight, weight / weight.mean(), rtol=1e-5)
    if strata == 2:  # environment 1's uniform priority 2 weighs as its share of the batch
        assert np.asarray(batch.weight)[index >= 16].std() < 1e-6
