"""mctx search inside the learned model.

This is the only place where the environment's legal-action mask meets the search: it becomes
mctx's `invalid_actions` at the root. Inside the tree every action is allowed and the model
alone decides what happens (MuZero section 3).

Two-player zero-sum games use discount -gamma inside the tree: values are from the point of
view of the player to move and rewards from the view of the player who acted, so mctx negates
the child's value when it backs up across a ply.

A value-prefix model (EfficientZero, Ye et al. 2021, section 4.2) carries its LSTM state down
the tree: a node's embedding is (latent, LSTM state, value prefix, depth), and the reward of the
edge into depth d is prefix_d - prefix_{d-1}, where prefix_{d-1} counts as 0 when d-1 is a
multiple of the horizon; there the LSTM state passed to the children is reset to zeros, as in
training (EfficientZero's ctree, `is_reset`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import mctx
from flax import struct

from muzero.config import Config
from muzero.model.networks import Model
from muzero.model.value_prefix import LSTMState, reset_where
from muzero.model.value_transforms import logits_to_scalar, make_support
from muzero.types import Array, EnvSpec, Params, PRNGKey


class SearchOutput(struct.PyTreeNode):
    action: Array  # [B] int32, the action mctx selects (Gumbel: the sequential-halving winner)
    policy_target: Array  # [B, A] search policy (visit distribution or Gumbel improved policy)
    visit_counts: Array  # [B, A] int32 root visit counts
    root_value: Array  # [B] value of the root after search, for the player to move


class PrefixEmbedding(struct.PyTreeNode):
    """A value-prefix model's node in the tree (mctx's embedding)."""

    latent: Array  # [B, ...]
    lstm: LSTMState  # 2 of [B, L], the state its children's prefixes continue from
    prefix: Array  # [B] its value prefix, 0 at the root and at every reset point
    depth: Array  # [B] int32, edges from the root


SearchFn = Callable[[Params, Array, Array, PRNGKey], SearchOutput]
Embedding = Array | PrefixEmbedding
RecurrentFn = Callable[
    [Params, PRNGKey, Array, Embedding], tuple[mctx.RecurrentFnOutput, Embedding]
]


def tree_discount(config: Config, spec: EnvSpec) -> float:
    """gamma, negated for two-player zero-sum games so values flip sign every ply."""
    return -config.learner.discount if spec.two_player else config.learner.discount


def root_embedding(model: Model, latent: Array) -> Embedding:
    """The root's mctx embedding: the latent [B, ...], or for a value-prefix model a
    `PrefixEmbedding` with a zero LSTM state, prefix 0 and depth 0."""
    if not model.prefix_horizon:
        return latent
    batch = latent.shape[0]
    return PrefixEmbedding(
        latent=latent,
        lstm=model.initial_state(batch),
        prefix=jnp.zeros((batch,), jnp.float32),
        depth=jnp.zeros((batch,), jnp.int32),
    )


def make_recurrent_fn(model: Model, config: Config, spec: EnvSpec) -> RecurrentFn:
    """mctx's recurrent_fn(params, key, action [B], embedding) -> (output, child embedding)
    inside the learned model: per-step rewards, or value-prefix differences (module doc)."""
    value_support = make_support(config.network.value_support)
    reward_support = make_support(config.network.reward_support)
    discount = tree_discount(config, spec)
    horizon = model.prefix_horizon

    def output(params: Params, reward: Array, next_latent: Array) -> mctx.RecurrentFnOutput:
        prior_logits, value_logits = model.predict(params, next_latent)
        return mctx.RecurrentFnOutput(
            reward=reward,
            discount=jnp.full(reward.shape, discount, jnp.float32),
            prior_logits=prior_logits,
            value=logits_to_scalar(value_logits, value_support),
        )

    def per_step(params, key, action, latent):
        del key
        reward_logits, next_latent = model.dynamics(params, latent, action)
        reward = logits_to_scalar(reward_logits, reward_support)
        return output(params, reward, next_latent), next_latent

    def value_prefix(params, key, action, node: PrefixEmbedding):
        del key
        _, next_latent = model.dynamics(params, node.latent, action)
        prefix_logits, lstm = model.value_prefix(params, next_latent, node.lstm)
        prefix = logits_to_scalar(prefix_logits, reward_support)
        depth = node.depth + 1
        reset = depth % horizon == 0
        child = PrefixEmbedding(
            latent=next_latent,
            lstm=reset_where(lstm, reset),
            prefix=jnp.where(reset, 0.0, prefix),
            depth=depth,
        )
        return output(params, prefix - node.prefix, next_latent), child

    return value_prefix if horizon else per_step


def make_search_fn(
    model: Model,
    config: Config,
    spec: EnvSpec,
    *,
    evaluation: bool = False,
    num_simulations: int | None = None,
) -> SearchFn:
    """Returns search(params, observation [B, *O], legal_mask [B, A], key) -> SearchOutput.

    `evaluation` removes root noise (no Dirichlet noise, Gumbel scale 0), as in the papers'
    evaluations; self-play keeps it for exploration.
    """
    value_support = make_support(config.network.value_support)
    policy = make_tree_policy(config, evaluation=evaluation, num_simulations=num_simulations)
    recurrent_fn = make_recurrent_fn(model, config, spec)

    def search(params: Params, observation: Array, legal_mask: Array, key: PRNGKey):
        latent = model.represent(params, observation)
        prior_logits, value_logits = model.predict(params, latent)
        root = mctx.RootFnOutput(
            prior_logits=prior_logits,
            value=logits_to_scalar(value_logits, value_support),
            embedding=root_embedding(model, latent),
        )
        return policy(params, key, root, recurrent_fn, legal_mask)

    return search


def make_tree_policy(
    config: Config, *, evaluation: bool = False, num_simulations: int | None = None
):
    """policy(params, key, root, recurrent_fn, legal_mask [B, A]) -> SearchOutput: the
    configured mctx search (Gumbel MuZero or MuZero pUCT) over any recurrent function, the
    learned model's or a true simulator's."""
    sc = config.search
    simulations = num_simulations or sc.num_simulations
    max_depth = sc.max_depth or None
    # The two mctx policies take the same arguments but for their own root exploration.
    if sc.algorithm == "gumbel":
        search_fn = mctx.gumbel_muzero_policy
        settings = dict(
            max_num_considered_actions=sc.max_num_considered_actions,
            gumbel_scale=0.0 if evaluation else sc.gumbel_scale,
        )
    else:
        search_fn = mctx.muzero_policy
        settings = dict(
            pb_c_init=sc.pb_c_init,
            pb_c_base=sc.pb_c_base,
            dirichlet_alpha=sc.dirichlet_alpha,
            dirichlet_fraction=0.0 if evaluation else sc.dirichlet_fraction,
        )

    def policy(params, key: PRNGKey, root, recurrent_fn, legal_mask: Array) -> SearchOutput:
        out = search_fn(
            params,
            key,
            root,
            recurrent_fn,
            simulations,
            invalid_actions=~legal_mask,
            max_depth=max_depth,
            **settings,
        )
        summary = out.search_tree.summary()
        return SearchOutput(
            action=out.action.astype(jnp.int32),
            policy_target=out.action_weights,
            visit_counts=summary.visit_counts,
            root_value=summary.value,
        )

    return policy


def most_visited(visit_counts: Array, legal_mask: Array, policy: Array | None = None) -> Array:
    """[B, A] -> [B] the legal action with the most root visits.

    Ties are broken by `policy` (values in [0, 1]) when given, else by the lowest index. Gumbel
    search splits visits evenly between its finalists (8 and 8 with two actions and 16
    simulations), so its improved policy must decide between them.
    """
    score = visit_counts.astype(jnp.float32)
    if policy is not None:
        score = score + 0.5 * policy
    return jnp.argmax(jnp.where(legal_mask, score, -1.0), axis=-1).astype(jnp.int32)


def greedy_action(out: SearchOutput, legal_mask: Array) -> Array:
    """[B] the action an agent plays in evaluation: most visited, ties by search policy."""
    return most_visited(out.visit_counts, legal_mask, out.policy_target)


def sample_visits(
    key: PRNGKey,
    visit_counts: Array,
    legal_mask: Array,
    temperature: float,
    policy: Array | None = None,
) -> Array:
    """[B, A] -> [B] actions sampled with probability proportional to visits ** (1/temperature);
    at temperature 0 the most visited, ties broken by `policy` (see `most_visited`)."""
    if temperature == 0:
        return most_visited(visit_counts, legal_mask, policy)
    logits = jnp.log(jnp.maximum(visit_counts.astype(jnp.float32), 1e-8)) / temperature
    logits = jnp.where(legal_mask & (visit_counts > 0), logits, -jnp.inf)
    # A root whose legal actions all have zero visits cannot happen with >= 1 simulation,
    # but fall back to the most visited legal action rather than sampling from -inf.
    any_visit = jnp.any(jnp.isfinite(logits), axis=-1)
    sampled = jax.random.categorical(key, jnp.where(any_visit[:, None], logits, 0.0))
    return jnp.where(any_visit, sampled, most_visited(visit_counts, legal_mask)).astype(jnp.int32)
