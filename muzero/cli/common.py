"""Command-line plumbing shared by the entry points: one-line errors, argparse and tyro
overrides, result tables."""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import difflib
import io
import pathlib
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

import tyro

from muzero.config import Config


def fail(message: str) -> NoReturn:
    """Print a one-line error naming the problem and exit with status 2: every entry point's
    (and experiment's) way of refusing its input."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are `fail`'s one line (not a usage block and `prog: error:`)."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """RUN_DIR and --step: the run, and which of its checkpoints or snapshots to load."""
    parser.add_argument(
        "run_dir", help="a run directory (runs/<preset>/<time>) or one of its checkpoint folders"
    )
    parser.add_argument(
        "--step",
        type=int,
        help="iteration of the checkpoint or parameter snapshot to load (default: the latest "
        "checkpoint)",
    )


def check_range(
    args: argparse.Namespace, names: Iterable[str], low: int, high: int | None = None
) -> None:
    """Exit with one line unless every named option of `args` (None: not given) lies in
    low..high (no upper bound without `high`)."""
    for name in names:
        value = getattr(args, name)
        if value is not None and (value < low or (high is not None and value > high)):
            bound = f">= {low}" if high is None else f"in {low}..{high}"
            fail(f"--{name.replace('_', '-')} must be {bound}, not {value}")


def config_flags(cls: type = Config, prefix: str = "") -> list[str]:
    """Every `--section.field-name` flag tyro accepts for the config tree."""
    flags = []
    for field in dataclasses.fields(cls):
        name = f"{prefix}{field.name.replace('_', '-')}"
        default = (
            field.default_factory()
            if field.default_factory is not dataclasses.MISSING
            else field.default
        )
        if dataclasses.is_dataclass(default):
            flags += config_flags(type(default), name + ".")
        else:
            flags.append(f"--{name}")
            if isinstance(default, bool):
                flags.append(f"--{prefix}no-{field.name.replace('_', '-')}")
    return flags


def check_unknown_flags(args: list[str]) -> None:
    known = set(config_flags())
    for arg in args:
        if not arg.startswith("--") or arg in ("--help",):
            continue
        flag = arg.split("=", 1)[0].replace("_", "-")
        if flag not in known:
            hint = difflib.get_close_matches(flag, sorted(known), n=1)
            suggestion = f" (did you mean {hint[0]}?)" if hint else ""
            fail(f"unknown config field {arg.split('=', 1)[0]}{suggestion}")


def _one_line(text: str) -> str:
    """Condense tyro's boxed error into its first message line."""
    lines = []
    for raw in text.splitlines():
        line = raw.strip().strip("│╭╮╰╯─").strip()
        if not line:
            continue
        if line.startswith(("For full helptext", "Argument helptext", "Perhaps you meant")):
            break
        lines.append(line)
    message = " ".join(lines[1:] if len(lines) > 1 else lines)
    return re.sub(r"\s+", " ", message) or "invalid command line"


def parse_config(default: Config, args: list[str], description: str) -> Config:
    """Apply `--section.field value` overrides to `default`; bad input exits with one line."""
    import envs  # here, not at the top: the environment libraries are slow to import

    check_unknown_flags(args)
    if "--help" in args or "-h" in args:
        return tyro.cli(Config, default=default, args=args, description=description)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
            config = tyro.cli(Config, default=default, args=args, description=description)
        # The command line accepts any spelling of an Atari game (ALE/ms_pacman); the
        # config records the one the loop knows.
        env = dataclasses.replace(config.env, id=envs.canonical_id(config.env.id))
    except SystemExit:
        fail(_one_line(captured.getvalue()))
    except ValueError as error:
        fail(str(error))
    return config.replace(env=env)


def pop_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    """Remove `--name VALUE` (or `--name=VALUE`) from args; returns (VALUE, rest)."""
    rest: list[str] = []
    value: Any = None
    it = iter(range(len(args)))
    skip = False
    for i in it:
        if skip:
            skip = False
            continue
        arg = args[i]
        if arg == name:
            if i + 1 >= len(args):
                fail(f"{name} needs a value")
            value, skip = args[i + 1], True
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return value, rest


def write_csv(path: str | pathlib.Path, rows: list[dict[str, Any]]) -> None:
    """`rows` (dicts with the first one's keys) as a CSV table with a header line."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
