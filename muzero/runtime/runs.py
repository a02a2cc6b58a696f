"""A run's directory: where it is made, and its config read back."""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib

from muzero.config import Config, from_dict, to_dict
from muzero.evaluation.opponents import is_plugin
from muzero.runtime import checkpointing


def new_run_dir(config: Config) -> pathlib.Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = pathlib.Path(config.run.runs_dir) / config.preset / stamp
    suffix = 1
    while run_dir.exists():
        run_dir = run_dir.with_name(f"{stamp}-{suffix}")
        suffix += 1
    run_dir.mkdir(parents=True)
    return run_dir


def load_run_config(run_dir: pathlib.Path) -> Config:
    """The config of a run, from its config.json, less its plug-in opponents (`module:function`
    in eval.opponents): a run directory may come from anyone, and loading, evaluating or
    resuming it must not run code it names. A command line that names a plug-in again imports
    it (`muzero.cli.train --resume RUN --eval.opponents ...`, `muzero.cli.eval --opponent`);
    `plugins_left_out` lists the ones dropped here."""
    config = _read_run_config(run_dir)
    kept = tuple(name for name in config.eval.opponents if not is_plugin(name))
    return config.replace(eval=dataclasses.replace(config.eval, opponents=kept))


def plugins_left_out(run_dir: pathlib.Path) -> tuple[str, ...]:
    """The plug-in opponents a run's config.json names, which `load_run_config` leaves out
    (read as text: nothing is imported)."""
    return tuple(name for name in _read_run_config(run_dir).eval.opponents if is_plugin(name))


def _read_run_config(run_dir: pathlib.Path) -> Config:
    path = pathlib.Path(run_dir) / "config.json"
    if not path.exists():
        raise checkpointing.CheckpointError(f"{path} is missing: not a run directory")
    try:
        config = from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as error:
        raise checkpointing.CheckpointError(f"{path} is unreadable: {error}") from error
    register_preset_environment(config.preset)
    return config


def register_preset_environment(preset: str) -> None:
    """Build the preset once if it is one of `configs.PRESETS`: a preset of `examples/`
    registers its own environment (`envs.register`) as it is built, and a run of it needs that
    before its environment can be built again. The preset is looked up in that fixed dict:
    nothing is imported by a name read from config.json."""
    from configs import PRESETS

    if preset in PRESETS:
        PRESETS[preset]()


# What a resumed run may change: how long it goes on, how it logs and saves, how it is
# evaluated, and the peak learning rate (the remedy for a run stopped by a non-finite update;
# the optimizer state does not depend on it). Everything else shapes the arrays a checkpoint
# holds (network, replay, actor, environment, optimizer) or the learning those arrays came
# from, so a change would either fail the restore or silently make it a different experiment.
RESUMABLE_SECTIONS = ("run", "eval")
RESUMABLE_FIELDS = ("learner.learning_rate",)
FIXED_FIELDS = ("run.seed",)


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_resume_config(saved: Config, config: Config) -> None:
    """Refuse, before anything is written or compiled, a resume whose config differs from the
    run's own in a field a resumed run cannot change; the error names the first such field."""
    # Through JSON, as config.json holds it, so a tuple and the list read back compare equal.
    before = _flatten(json.loads(json.dumps(to_dict(saved))))
    after = _flatten(json.loads(json.dumps(to_dict(config))))
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        resumable = name in RESUMABLE_FIELDS or (
            name.split(".")[0] in RESUMABLE_SECTIONS and name not in FIXED_FIELDS
        )
        if old != new and not resumable:
            raise checkpointing.CheckpointError(
                f"a resumed run cannot change {name} ({old!r} -> {new!r}); only the run.* "
                "budget, logging and checkpoint settings (not run.seed), eval.* and "
                "learner.learning_rate may change"
            )


def write_run_config(run_dir: pathlib.Path, config: Config) -> None:
    (pathlib.Path(run_dir) / "config.json").write_text(json.dumps(to_dict(config), indent=2))
