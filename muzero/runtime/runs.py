"""A run's directory: where it is made, and its config read back."""

from __future__ import annotations

import datetime
import json
import pathlib

from muzero.config import Config, from_dict, to_dict
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


def write_run_config(run_dir: pathlib.Path, config: Config) -> None:
    (pathlib.Path(run_dir) / "config.json").write_text(json.dumps(to_dict(config), indent=2))
