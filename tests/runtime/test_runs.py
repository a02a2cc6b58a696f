"""What a resumed run may change in its config (the rest would not fit the checkpoint or
would make the run a different experiment)."""

import dataclasses

import pytest

from configs import get_preset
from muzero.runtime import checkpointing
from muzero.runtime.runs import check_resume_config


@pytest.mark.parametrize(
    "section, field, value, allowed",
    [
        ("run", "max_iterations", 99, True),
        ("eval", "num_games", 3, True),
        ("learner", "learning_rate", 1e-4, True),
        ("run", "seed", 7, False),
        ("learner", "batch_size", 8, False),
        ("network", "hidden_size", 48, False),
    ],
)
def test_a_resume_may_change_the_budget_evaluation_and_learning_rate_only(
    section, field, value, allowed
):
    saved = get_preset("smoke")
    changed = saved.replace(
        **{section: dataclasses.replace(getattr(saved, section), **{field: value})}
    )
    if allowed:
        check_resume_config(saved, changed)
    else:
        with pytest.raises(checkpointing.CheckpointError, match=rf"{section}\.{field} \("):
            check_resume_config(saved, changed)
