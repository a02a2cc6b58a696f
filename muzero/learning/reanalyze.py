"""Reanalysis: fresh targets for replayed positions (MuZero Reanalyze, EfficientZero).

A position's targets were computed when it was played, by the network of that time. The older
the position, the worse that network was, and with many updates per environment step (the
sample-efficient regime) most of what the learner sees is old. Reanalysis recomputes the two
targets that depend on the network (Schrittwieser et al. 2021, "Online and Offline
Reinforcement Learning by Planning with a Learned Model"; MuZero appendix H; Ye et al. 2021):

- policy: the self-play search is run again at the K + 1 states the loss unrolls through,
  from their stored observations and root legal masks, with the target network
  (EfficientZero; `reanalyze.policy_network`) or the latest parameters (MuZero Reanalyze);
- value: the n-step target's bootstrap v_{t+k+n} is re-evaluated by a target network (a copy
  of the parameters refreshed every `reanalyze.target_update_interval` updates, so the value
  target does not chase the network it trains), either its predicted value (EfficientZero) or
  the root value of a search with it.

Both work on the sampled batch's windows: the result is the same `Window` with its `policy`
and `root_value` entries replaced where they are used, so the targets are built exactly as for
stored ones (`muzero.learning.targets`). Everything is one batched computation inside the
jitted update: the B (K + 1) searches are one mctx call.

A truncated step inside the n-step sum (the state an episode was cut at) keeps its stored
search value, unless the same record is also a bootstrap state.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from muzero.config import Config
from muzero.model.networks import Model
from muzero.model.value_transforms import logits_to_scalar, make_support
from muzero.replay import buffer as replay_lib
from muzero.search.policy import make_search_fn
from muzero.types import Array, EnvSpec, Params, PRNGKey

ReanalyzeFn = Callable[
    [Params, Params | None, replay_lib.ReplayState, replay_lib.Sample, Array, PRNGKey],
    tuple[replay_lib.Window, dict[str, Array]],
]


def make_reanalyze_fn(
    model: Model,
    config: Config,
    spec: EnvSpec,
    strata: replay_lib.Strata = replay_lib.ONE_STRATUM,
) -> ReanalyzeFn:
    """Returns reanalyze(params, target_params, replay, sample, horizon [B], key) -> (window
    [B, W] with fresh targets, metrics). `horizon` is each position's value horizon (n, or
    shorter with the off-policy correction); `sample` must hold the next observations
    (`replay.sample(next_observations=True)`) when the policy is reanalysed, and be drawn in
    `strata` (so the bootstrap states are read where the sample's own records lie)."""
    rc, lc = config.reanalyze, config.learner
    search = make_search_fn(model, config, spec, num_simulations=rc.num_simulations or None)
    value_support = make_support(config.network.value_support)
    history = {
        "history_frames": config.history.frames,
        "action_planes": config.history.action_planes,
    }
    num_states = lc.unroll_steps + 1

    def searched(params: Params, observation: Array, legal_mask: Array, key: PRNGKey):
        """[B, M, *O], [B, M, A] -> the search output of the B * M states, as [B, M, ...]."""
        batch, m = legal_mask.shape[:2]
        flat = observation.reshape((batch * m,) + observation.shape[2:])
        out = search(params, flat, legal_mask.reshape(batch * m, -1), key)
        return jax.tree.map(lambda x: x.reshape((batch, m) + x.shape[1:]), out)

    def fresh_policy(params, sample, key):
        window = sample.window
        observation = jnp.concatenate([sample.observation[:, None], sample.next_observation], 1)
        out = searched(params, observation, window.legal_mask[:, :num_states], key)
        old = window.policy[:, :num_states]
        shift = 0.5 * jnp.mean(jnp.sum(jnp.abs(out.policy_target - old), axis=-1))
        return window.policy.at[:, :num_states].set(out.policy_target), shift

    def fresh_values(target_params, replay, sample, horizon, key):
        window = sample.window
        # The bootstrap state of offset k is record k + horizon of the window.
        offsets = jnp.arange(num_states)[None, :] + horizon[:, None]  # [B, K+1]
        observation = replay_lib.observations_at(
            replay, sample.index, offsets, **history, strata=strata
        )
        if rc.value_source == "search":
            legal = jnp.take_along_axis(window.legal_mask, offsets[..., None], axis=1)
            value = searched(target_params, observation, legal, key).root_value
        else:
            batch = offsets.shape[0]
            flat = observation.reshape((batch * num_states,) + observation.shape[2:])
            _, logits = model.predict(target_params, model.represent(target_params, flat))
            value = logits_to_scalar(logits, value_support).reshape(batch, num_states)
        old = jnp.take_along_axis(window.root_value, offsets, axis=1)
        rows = jnp.arange(offsets.shape[0])[:, None]
        return window.root_value.at[rows, offsets].set(value), jnp.mean(jnp.abs(value - old))

    def reanalyze(params, target_params, replay, sample, horizon, key):
        k_policy, k_value = jax.random.split(key)
        window, metrics = sample.window, {}
        if rc.policy:
            searcher = target_params if rc.policy_network == "target" else params
            policy, metrics["reanalyze/policy_shift"] = fresh_policy(searcher, sample, k_policy)
            window = window.replace(policy=policy)
        if rc.value:
            root_value, metrics["reanalyze/value_shift"] = fresh_values(
                target_params, replay, sample, horizon, k_value
            )
            window = window.replace(root_value=root_value)
        return window, metrics

    return reanalyze


def refresh_target(target_params: Params | None, params: Params, step: Array, interval: int):
    """The target network after update `step` (1-based): a copy of `params` every `interval`
    updates, else unchanged (None when the run has no target network)."""
    if target_params is None:
        return None
    due = step % interval == 0
    return jax.tree.map(lambda t, p: jnp.where(due, p, t), target_params, params)
