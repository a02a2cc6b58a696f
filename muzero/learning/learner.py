"""Training state, optimizer and the jitted-once update (sample, loss, step, priorities)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from muzero.config import Config
from muzero.learning.losses import LossInfo, consistency_targets, muzero_loss
from muzero.learning.reanalyze import make_reanalyze_fn, refresh_target
from muzero.learning.targets import UnrollTargets, batch_targets, off_policy_td
from muzero.model.networks import Model
from muzero.model.unroll import unroll
from muzero.model.value_transforms import make_support
from muzero.replay import buffer as replay_lib
from muzero.search.policy import tree_discount
from muzero.types import Array, EnvSpec, Params, PRNGKey


class TrainState(struct.PyTreeNode):
    params: Params
    opt_state: optax.OptState
    step: Array  # [] int32, updates applied
    # The reanalysis target network (`muzero.learning.reanalyze`), or None without one.
    target_params: Params | None = None


def learning_rate_schedule(config: Config) -> optax.Schedule:
    lc = config.learner
    warmup = optax.linear_schedule(0.0, lc.learning_rate, max(lc.warmup_steps, 1))
    if lc.decay_steps == 0:
        after = optax.constant_schedule(lc.learning_rate)
    else:
        after = optax.cosine_decay_schedule(
            lc.learning_rate, lc.decay_steps, alpha=lc.final_lr_fraction
        )
    return optax.join_schedules([warmup, after], [max(lc.warmup_steps, 1)])


def make_optimizer(config: Config) -> optax.GradientTransformation:
    lc = config.learner
    parts = [optax.clip_by_global_norm(lc.max_grad_norm)] if lc.max_grad_norm > 0 else []
    parts.append(optax.adamw(learning_rate_schedule(config), weight_decay=lc.weight_decay))
    return optax.chain(*parts)


def init_train_state(
    model: Model,
    optimizer: optax.GradientTransformation,
    key: PRNGKey,
    target_network: bool = False,
) -> TrainState:
    params = model.init(key)
    return TrainState(
        params=params,
        opt_state=optimizer.init(params),
        step=jnp.zeros((), jnp.int32),
        target_params=jax.tree.map(jnp.copy, params) if target_network else None,
    )


@dataclasses.dataclass(frozen=True)
class LearnShardings:
    """Where the learner's inputs and outputs lie (`muzero.runtime.sharding`)."""

    replicated: jax.sharding.Sharding  # the train state, the key, scalars, metrics
    replay: replay_lib.ReplayState  # a sharding per field: the [E, L, ...] records split on E


Metrics = dict[str, Array]
# Skipped (non-finite) updates: how many, and the index of the first (NO_UPDATE if none).
NONFINITE_UPDATES = "learner/nonfinite_updates"
FIRST_NONFINITE_UPDATE = "learner/first_nonfinite_update"
NO_UPDATE = jnp.iinfo(jnp.int32).max


def combine_metrics(history: list[Metrics]) -> Metrics:
    """Metrics of several updates as one: means, but the skipped updates are counted and the
    first of them kept."""
    combined = {}
    for name in history[0]:
        values = jnp.stack([metrics[name] for metrics in history])
        if name == NONFINITE_UPDATES:
            combined[name] = jnp.sum(values)
        elif name == FIRST_NONFINITE_UPDATE:
            combined[name] = jnp.min(values)
        else:
            combined[name] = jnp.mean(values)
    return combined


def make_targets_fn(config: Config, spec: EnvSpec) -> Callable[..., UnrollTargets]:
    """Returns targets(windows [B, W], horizon=None) -> UnrollTargets [B, K(+1), ...] as the
    config asks: n-step values with the tree's discount (bootstrapped after `horizon` [B]
    steps when given, the off-policy correction), and value-prefix reward targets when the
    network predicts value prefixes (EfficientZero section 4.2)."""
    return functools.partial(
        batch_targets,
        unroll_steps=config.learner.unroll_steps,
        td_steps=config.learner.td_steps,
        discount=tree_discount(config, spec),
        value_prefix_horizon=config.network.value_prefix_horizon,
    )


UpdateFn = Callable[
    [TrainState, replay_lib.ReplayState, PRNGKey],
    tuple[TrainState, replay_lib.ReplayState, Metrics],
]


LossFn = Callable[[Params, replay_lib.Sample, UnrollTargets], tuple[Array, LossInfo]]
BatchFn = Callable[
    [TrainState, replay_lib.ReplayState, PRNGKey],
    tuple[replay_lib.Sample, UnrollTargets, Metrics],
]


def make_loss_fn(model: Model, config: Config) -> LossFn:
    """Returns loss(params, sample, targets) -> (loss, LossInfo): the model unrolled along the
    sample's actions against its targets (`muzero.learning.losses`)."""
    lc = config.learner
    value_support = make_support(config.network.value_support)
    reward_support = make_support(config.network.reward_support)
    consistency = lc.consistency_loss_weight

    def loss(params: Params, sample: replay_lib.Sample, targets: UnrollTargets):
        predictions = unroll(
            model, params, sample.observation, targets.actions, project=consistency > 0
        )
        target_projection = None
        if consistency:
            target_projection = consistency_targets(params, model, sample.next_observation)
        return muzero_loss(
            predictions,
            targets,
            sample.weight,
            value_support=value_support,
            reward_support=reward_support,
            value_loss_weight=lc.value_loss_weight,
            consistency_loss_weight=consistency,
            consistency_target=target_projection,
        )

    return loss


def sample_positions(
    replay: replay_lib.ReplayState,
    key: PRNGKey,
    config: Config,
    *,
    next_observations: bool,
    legal_masks: bool = False,
    strata: replay_lib.Strata = replay_lib.ONE_STRATUM,
) -> replay_lib.Sample:
    """A prioritized batch of positions with the config's batch size, unroll, n and histories,
    drawn in `strata` (`muzero.replay.buffer.sample`)."""
    lc, rc = config.learner, config.replay
    return replay_lib.sample(
        replay,
        key,
        batch_size=lc.batch_size,
        unroll_steps=lc.unroll_steps,
        td_steps=lc.td_steps,
        priority_exponent=rc.priority_exponent,
        importance_exponent=rc.importance_exponent,
        history_frames=config.history.frames,
        action_planes=config.history.action_planes,
        next_observations=next_observations,
        legal_masks=legal_masks,
        strata=strata,
    )


def make_batch_fn(
    model: Model, config: Config, spec: EnvSpec, strata: replay_lib.Strata = replay_lib.ONE_STRATUM
) -> BatchFn:
    """Returns batch(state, replay, key) -> (sample, targets, metrics): a prioritized sample
    drawn in `strata` and its targets, reanalysed and with off-policy horizons as the config
    asks."""
    lc = config.learner
    targets_of = make_targets_fn(config, spec)
    reanalysis = config.reanalyze.policy or config.reanalyze.value
    reanalyze = make_reanalyze_fn(model, config, spec, strata) if reanalysis else None

    def batch(state: TrainState, replay: replay_lib.ReplayState, key: PRNGKey):
        k_sample, k_reanalyze = jax.random.split(key) if reanalysis else (key, None)
        next_observations = lc.consistency_loss_weight > 0 or config.reanalyze.policy
        sample = sample_positions(
            replay,
            k_sample,
            config,
            next_observations=next_observations,
            legal_masks=reanalysis,
            strata=strata,
        )
        horizon, window, metrics = None, sample.window, {}
        if lc.td_age_steps:  # the age is counted in records of a column: E env steps each
            age = sample.age * replay.action.shape[0]
            horizon = off_policy_td(age, lc.td_steps, lc.td_age_steps)
            metrics["learner/value_horizon"] = jnp.mean(horizon.astype(jnp.float32))
        if reanalyze is not None:
            full = jnp.full((lc.batch_size,), lc.td_steps, jnp.int32)
            window, reanalysed = reanalyze(
                state.params, state.target_params, replay, sample,
                full if horizon is None else horizon, k_reanalyze,
            )  # fmt: skip
            metrics.update(reanalysed)
        return sample, targets_of(window, horizon=horizon), metrics

    return batch


def make_update_fn(
    model: Model,
    optimizer: optax.GradientTransformation,
    config: Config,
    spec: EnvSpec,
    batch_sharding: jax.sharding.Sharding | None = None,
    num_strata: int = 1,
) -> UpdateFn:
    """One update: sample a prioritized batch, reanalyse it (if configured), take a gradient
    step, write back priorities, refresh the target network on schedule. With
    `batch_sharding` (`muzero.runtime.sharding.batch_sharded`), the sample and its targets
    [B, ...] are split over the devices along B; the loss is still the global batch's mean, so
    its gradient is the same as on one device. The batch is drawn in `num_strata` strata
    (`muzero.replay.buffer.Strata`), one per device when sharded: each device samples its
    share of the batch from the replay columns it holds, placed by `batch_sharding` too."""
    loss = make_loss_fn(model, config)
    batch_of = make_batch_fn(model, config, spec, replay_lib.Strata(num_strata, batch_sharding))
    consistency = config.learner.consistency_loss_weight > 0

    def update(state: TrainState, replay: replay_lib.ReplayState, key: PRNGKey):
        sample, targets, extra = batch_of(state, replay, key)
        if batch_sharding is not None:  # where the data-parallel split happens
            sample, targets = jax.lax.with_sharding_constraint((sample, targets), batch_sharding)
        grads, info = jax.grad(loss, has_aux=True)(state.params, sample, targets)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        grad_norm = optax.tree.norm(grads)
        step = state.step + 1
        target = config.reanalyze.target_update_interval
        new_state = TrainState(
            params=params,
            opt_state=opt_state,
            step=step,
            target_params=refresh_target(state.target_params, params, step, target),
        )
        written = replay_lib.update_priorities(replay, sample.index, info.priority)
        finite = jnp.isfinite(info.total) & jnp.isfinite(grad_norm)
        finite &= jnp.isfinite(optax.tree.norm(params))
        metrics = _update_metrics(info, grad_norm, finite, state.step, consistency) | extra
        # NaN or Inf anywhere (the data, the loss, the gradients, parameters that overflowed)
        # skips the whole update: state and priorities stay as they were, so nothing
        # non-finite reaches a checkpoint, and the metrics tell the loop, which stops the run.
        state, priority, max_priority = _where(
            finite,
            (new_state, written.priority, written.max_priority),
            (state, replay.priority, replay.max_priority),
        )
        return state, replay.replace(priority=priority, max_priority=max_priority), metrics

    return update


def _update_metrics(
    info: LossInfo, grad_norm: Array, finite: Array, step: Array, consistency: bool
) -> Metrics:
    """One update's metrics; `step` is its index, named if the update was skipped."""
    metrics = {
        "learner/loss": info.total,
        "learner/policy_loss": info.policy,
        "learner/value_loss": info.value,
        "learner/reward_loss": info.reward,
        "learner/value_error": info.value_error,
        "learner/grad_norm": grad_norm,
        NONFINITE_UPDATES: jnp.where(finite, 0, 1).astype(jnp.int32),
        FIRST_NONFINITE_UPDATE: jnp.where(finite, NO_UPDATE, step),
    }
    if consistency:
        metrics["learner/consistency_loss"] = info.consistency
    return metrics


def _where(condition: Array, if_true: Any, if_false: Any) -> Any:
    """`jnp.where` leaf by leaf over two pytrees of the same structure."""
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), if_true, if_false)


def make_learn_fn(
    update: UpdateFn, num_updates: int, shardings: LearnShardings | None = None
) -> UpdateFn:
    """`num_updates` updates, each one jitted call; metrics combined (`combine_metrics`).

    The updates are dispatched from a Python loop rather than scanned: on XLA:CPU a
    convolution's backward pass inside a `while` loop runs some 30x slower than the same
    computation outside one (about 22 s against 0.8 s per connect-four ResNet update, see
    ../shared/STACK_NOTES.md). Dispatch is asynchronous, so the loop adds no host round trip:
    nothing is read back until the caller logs the metrics (or saves). Only the priorities are
    written by an update, so only they (and the train state) are donated and carried between
    calls. With `shardings`, each update is jitted with them as its input and output
    shardings, so the state and the replay stay where `muzero.runtime.sharding` put them.
    """

    def one_update(state, priority, max_priority, replay, key):
        r = replay.replace(priority=priority, max_priority=max_priority)
        state, r, metrics = update(state, r, key)
        return state, r.priority, r.max_priority, metrics

    placed = {}
    if shardings is not None:
        whole, columns = shardings.replicated, shardings.replay
        records = columns.replace(priority=None, max_priority=None)
        placed = {
            "in_shardings": (whole, columns.priority, whole, records, whole),
            "out_shardings": (whole, columns.priority, whole, whole),
        }
    step = jax.jit(one_update, donate_argnums=(0, 1), **placed)
    split = jax.jit(lambda key: jax.random.split(key, num_updates))
    # A function of its own, so this learner's compile cache is its own (jit shares one
    # cache between wrappers of the same function).
    average = jax.jit(lambda history: combine_metrics(history))

    def learn(state: TrainState, replay: replay_lib.ReplayState, key: PRNGKey):
        priority, max_priority = replay.priority, replay.max_priority
        records = replay.replace(priority=None, max_priority=None)  # read only, not donated
        history = []
        for step_key in split(key):
            state, priority, max_priority, metrics = step(
                state, priority, max_priority, records, step_key
            )
            history.append(metrics)
        replay = replay.replace(priority=priority, max_priority=max_priority)
        return state, replay, average(history)

    learn.jitted = (split, step, average)  # for tests that count compilations
    return learn
