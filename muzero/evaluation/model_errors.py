"""How well the learned model predicts what really happens: the computations behind
`python -m muzero.cli.diagnose` (which owns the command line, the files and the table).

MuZero's model is only trained to be consistent with real trajectories along the K actions of
each unroll (MuZero section 3, equation 1); search then trusts it. This tool checks that trust on
fresh greedy episodes. It plays E episodes with the run's evaluation search (no root noise,
most visited action), then from every position t unrolls the model along the actions really
taken, a_t .. a_{t+K-1}, and compares at every unroll step k = 0..K:

- reward: |r_k - u_{t+k-1}|, the predicted reward of the k-th real action against the reward
  the environment gave for it (k >= 1); a value-prefix model's reward is the difference of its
  consecutive prefixes, the previous one counting as 0 after a reset, as the search reads it;
- value: |v_k - z_{t+k}| against the n-step return target the learner would use
  (`muzero.learning.targets.unroll_targets`: same discount and td_steps, bootstrapping from the
  search root values of these episodes), and |v_k - nu_{t+k}| against the search root value;
- policy: KL(pi_{t+k} || p_k) to the search policy, and whether argmax p_k (over all actions:
  the model itself is rule-free) is the action really played at t+k.

What counts (the masks): a position t counts while its episode is still running. Its offset k
counts for value and policy while t+k is a real state of the same episode, i.e. no episode
ended in transitions t .. t+k-1 (`unroll_targets`' policy mask). The reward at k counts when
the k-th action was really taken (state t+k-1 real), so the final transition into a terminal
state is compared. Past a termination the learner trains the model towards an absorbing state
(zero reward and value), but nothing real happens there, so those steps are left out; past a
truncation nothing is known. Episodes still running after `--max-steps` are cut there and
treated as truncated, exactly as the learner treats a time limit. Errors are averaged over all
counted (position, k) pairs; the bands are 95% intervals of those means, which positions of the
same episode (correlated) make somewhat optimistic.

Two-player games need no sign flips: the model's rewards are the mover's, its values are for
the player to move, and the n-step targets use discount -gamma between plies exactly as in the
search and the learner, so every compared quantity is from the point of view of the player
to move at t+k (or, for rewards, of the player who made the k-th move).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.core import Env
from muzero.config import Config
from muzero.evaluation.episodes import GreedyStep, batched, make_greedy_episodes
from muzero.learning.targets import batch_targets
from muzero.model.networks import Model
from muzero.model.unroll import unroll
from muzero.model.value_prefix import prefix_rewards
from muzero.model.value_transforms import Support, logits_to_scalar, make_support
from muzero.replay.buffer import Window
from muzero.search.policy import SearchFn, tree_discount
from muzero.types import Array, EnvSpec, Params, PRNGKey


class Record(struct.PyTreeNode):
    """E greedy episodes padded to T steps; step t as a record of `muzero.learning.targets`."""

    observation: Array  # [E, T, *O] the stacked observation the network saw at step t
    action: Array  # [E, T] int32 the action played
    reward: Array  # [E, T] float32 reward of the transition t -> t+1 (the mover's)
    terminated: Array  # [E, T] bool
    truncated: Array  # [E, T] bool (also set where --max-steps cut a running episode)
    root_value: Array  # [E, T] float32 search root value, for the player to move
    policy: Array  # [E, T, A] float32 search policy
    valid: Array  # [E, T] bool: the episode was still running at step t


class Outcomes(struct.PyTreeNode):
    """What really happened k = 0..K steps after each position of one episode."""

    action: Array  # [T, K+1] the action really played at t+k
    reward: Array  # [T, K+1] reward of the k-th real action, transition t+k-1 (index 0: 0)
    reward_mask: Array  # [T, K+1] bool
    value_target: Array  # [T, K+1] the learner's n-step target z at t+k
    search_value: Array  # [T, K+1] search root value at t+k
    search_policy: Array  # [T, K+1, A]
    state_mask: Array  # [T, K+1] bool: t+k is a real state of t's episode


class Predictions(struct.PyTreeNode):
    """The model unrolled K steps from each of B positions."""

    reward: Array  # [B, K+1] predicted reward of the k-th action (index 0: 0, unused)
    value: Array  # [B, K+1]
    policy_logits: Array  # [B, K+1, A]


class StepErrors(struct.PyTreeNode):
    """Per-position, per-step errors [..., K+1] and the masks saying which ones count."""

    reward: Array  # |r_k - u|
    value_target: Array  # |v_k - z|
    value_search: Array  # |v_k - nu|
    policy_kl: Array  # KL(pi || p_k)
    top1: Array  # 1.0 where argmax p_k is the real action
    reward_mask: Array  # bool
    state_mask: Array  # bool


METRICS = (  # (StepErrors field, column name, mask, table heading)
    ("reward", "reward_mae", "reward_mask", "reward\nMAE"),
    ("value_target", "value_mae_target", "state_mask", "value MAE\nvs n-step\ntarget z"),
    ("value_search", "value_mae_search", "state_mask", "value MAE\nvs search\nvalue"),
    ("policy_kl", "policy_kl", "state_mask", "policy KL\n(search ||\nmodel)"),
    ("top1", "top1_agreement", "state_mask", "top-1 =\nreal\naction"),
)


def make_recorder(
    env: Env, search: SearchFn, config: Config, num_episodes: int, max_steps: int
) -> Callable[[Params, PRNGKey], Record]:
    """Returns record(params, key) -> Record [E, T=max_steps], for the caller to jit.

    The episodes are the greedy episode loop's (`muzero.evaluation.episodes`), as the
    evaluation plays them with the same keys, so a single-player run's recorded returns are
    its evaluation's returns; in two-player games the greedy search plays both sides.
    """
    spec = env.spec

    def blank(observation: Array) -> Record:  # time-major [T, E, ...], one step at a time
        def zeros(shape, dtype):
            return jnp.zeros((max_steps, num_episodes, *shape), dtype)

        return Record(
            observation=zeros(observation.shape[1:], observation.dtype),
            action=zeros((), jnp.int32),
            reward=zeros((), jnp.float32),
            terminated=zeros((), bool),
            truncated=zeros((), bool),
            root_value=zeros((), jnp.float32),
            policy=zeros((spec.num_actions,), jnp.float32),
            valid=zeros((), bool),
        )

    def write(buffers: Record, step: Array, s: GreedyStep) -> Record:
        row = Record(
            observation=s.observation,
            action=s.action,
            reward=s.timestep.reward.astype(jnp.float32),
            terminated=s.timestep.terminated,
            truncated=s.timestep.truncated,
            root_value=s.out.root_value,
            policy=s.out.policy_target,
            valid=s.running,
        )
        return jax.tree.map(lambda b, x: b.at[step].set(x), buffers, row)

    play = make_greedy_episodes(
        batched(env, num_episodes),
        search,
        config,
        init=blank,
        accumulate=write,
        max_steps=max_steps,
    )

    def record(params: Params, key: PRNGKey) -> Record:
        buffers, running = play(params, key)
        out = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), buffers)
        # Episodes still running were cut by max_steps: a time limit, so the learner's rule for
        # truncation applies (bootstrap from the last real state's value).
        return out.replace(truncated=out.truncated.at[:, -1].set(out.truncated[:, -1] | running))

    return record


def real_outcomes(episode: Record, unroll_steps: int, td_steps: int, discount: float) -> Outcomes:
    """Targets of every position of one episode [T] (no E axis), as the learner computes them.

    Each position gets the window of W = K + n + 1 records after it (`muzero.learning.targets`); the
    episode is padded with terminated records, which no counted target reaches since the
    last recorded step always ends its episode.
    """
    k = unroll_steps
    length = episode.action.shape[0]
    width = k + td_steps + 1

    def padded(x, fill):
        return jnp.concatenate([x, jnp.full((width - 1, *x.shape[1:]), fill, x.dtype)])

    index = jnp.arange(length)[:, None] + jnp.arange(width)[None, :]  # [T, W]
    windows = Window(
        action=padded(episode.action, 0)[index],
        reward=padded(episode.reward, 0.0)[index],
        terminated=padded(episode.terminated, True)[index],
        truncated=padded(episode.truncated, False)[index],
        root_value=padded(episode.root_value, 0.0)[index],
        policy=padded(episode.policy, 0.0)[index],
    )
    targets = batch_targets(windows, unroll_steps=k, td_steps=td_steps, discount=discount)
    # policy_mask is unroll_targets' `alive`: no episode end in records t .. t+k-1.
    state_mask = (targets.policy_mask > 0) & episode.valid[:, None]
    first = jnp.zeros((length, 1), bool)
    return Outcomes(
        action=windows.action[:, : k + 1],
        reward=jnp.concatenate([first.astype(jnp.float32), windows.reward[:, :k]], axis=1),
        reward_mask=jnp.concatenate([first, state_mask[:, :-1]], axis=1),
        value_target=targets.value,
        search_value=windows.root_value[:, : k + 1],
        search_policy=windows.policy[:, : k + 1],
        state_mask=state_mask,
    )


def predictions_along(
    model: Model,
    params: Params,
    observation: Array,
    actions: Array,
    *,
    value_support: Support,
    reward_support: Support,
) -> Predictions:
    """observation [B, *O], actions [B, K] -> the model's predictions [B, K+1] along them."""
    steps = unroll(model, params, observation, actions).stacked()
    reward = logits_to_scalar(steps["reward_logits"], reward_support)  # [B, K]
    if model.prefix_horizon:  # value prefixes (EfficientZero section 4.2) to per-step rewards
        reward = prefix_rewards(reward, model.prefix_horizon)
    return Predictions(
        reward=jnp.concatenate([jnp.zeros_like(reward[:, :1]), reward], axis=1),
        value=logits_to_scalar(steps["value_logits"], value_support),
        policy_logits=steps["policy_logits"],
    )


def compare(predictions: Predictions, outcomes: Outcomes) -> StepErrors:
    """Per-position, per-step errors [B, K+1] of the predictions against what happened."""
    log_p = jax.nn.log_softmax(predictions.policy_logits, axis=-1)
    pi = outcomes.search_policy
    # KL(pi || p) = sum pi (log pi - log p); xlogy makes 0 log 0 = 0 on actions search skipped.
    kl = jnp.sum(jax.scipy.special.xlogy(pi, pi) - pi * log_p, axis=-1)
    top1 = jnp.argmax(predictions.policy_logits, axis=-1) == outcomes.action
    return StepErrors(
        reward=jnp.abs(predictions.reward - outcomes.reward),
        value_target=jnp.abs(predictions.value - outcomes.value_target),
        value_search=jnp.abs(predictions.value - outcomes.search_value),
        policy_kl=kl,
        top1=top1.astype(jnp.float32),
        reward_mask=outcomes.reward_mask,
        state_mask=outcomes.state_mask,
    )


def make_analysis(
    model: Model, config: Config, spec: EnvSpec, unroll_steps: int
) -> Callable[[Params, Record], StepErrors]:
    """Returns analyse(params, record [E, T]) -> StepErrors [E, T, K+1], for the caller to jit.

    Episodes go through `lax.map` one at a time (each a batch of its T positions), which keeps
    memory at one episode's unroll whatever E is.
    """
    value_support = make_support(config.network.value_support)
    reward_support = make_support(config.network.reward_support)
    td_steps = config.learner.td_steps
    discount = tree_discount(config, spec)

    def one_episode(params: Params, episode: Record) -> StepErrors:
        outcomes = real_outcomes(episode, unroll_steps, td_steps, discount)
        predictions = predictions_along(
            model,
            params,
            episode.observation,
            outcomes.action[:, :unroll_steps],
            value_support=value_support,
            reward_support=reward_support,
        )
        return compare(predictions, outcomes)

    def analyse(params: Params, record: Record) -> StepErrors:
        return jax.lax.map(lambda episode: one_episode(params, episode), record)

    return analyse


def summarize(errors: StepErrors) -> list[dict[str, float]]:
    """Rows k = 0..K: mean, 95% interval half-width and count of every metric (NaN: none)."""
    errors = jax.device_get(errors)
    steps = errors.state_mask.shape[-1]
    rows = []
    for k in range(steps):
        row: dict[str, float] = {"k": k}
        for field, name, mask_name, _ in METRICS:
            mask = np.asarray(getattr(errors, mask_name))[..., k].reshape(-1)
            values = np.asarray(getattr(errors, field), np.float64)[..., k].reshape(-1)[mask]
            count = int(values.size)
            mean = float(values.mean()) if count else float("nan")
            spread = float(values.std(ddof=1) / np.sqrt(count)) if count > 1 else float("nan")
            row[name], row[f"{name}_ci95"] = mean, 1.96 * spread
        row["states"] = int(np.asarray(errors.state_mask)[..., k].sum())
        row["rewards"] = int(np.asarray(errors.reward_mask)[..., k].sum())
        rows.append(row)
    return rows
