"""Checks of a saved item's files that read no array: its metadata parses, and every byte
range its array store promises lies inside a data file that exists.

Orbax keeps the arrays of an item (a checkpoint's `state/` or `params/`, a snapshot) in an
OCDBT database (tensorstore): `manifest.ocdbt` names the root of a B-tree whose nodes give,
for every array chunk, a data file, an offset and a length. Walking those small nodes finds a
truncated or missing data file before anything is allocated or compiled. Damage inside a file
of the right length shows only when the arrays are read, and `checkpointing.restore` reports it.
"""

from __future__ import annotations

import json
import pathlib
import urllib.parse
from typing import Any


def item_problem(directory: pathlib.Path) -> str | None:
    """The first problem found in one saved item, as '<file> is ...' with the file relative to
    `directory`; None when its metadata parses and every promised byte is there."""
    try:
        json.loads((directory / "_METADATA").read_text())
    except OSError:
        return "_METADATA is missing"
    except ValueError:
        return "_METADATA is not valid JSON"
    if not (directory / "manifest.ocdbt").is_file():
        return None  # not an OCDBT store: what `restore` cannot read, it reports
    return _ocdbt_problem(directory)


def _ocdbt_problem(directory: pathlib.Path) -> str | None:
    import tensorstore as ts

    kvstore = ts.KvStore.open({"driver": "file", "path": f"{directory}/"}).result()
    try:
        manifest = ts.ocdbt.dump(kvstore).result()
    except Exception as error:  # tensorstore raises ValueError and others for a bad manifest
        return f"manifest.ocdbt is unreadable ({_first_line(error)})"
    versions = manifest.get("versions") or [{}]
    root = versions[-1].get("root", {}).get("location")
    pending, value_ends = [root] if root else [], {}
    while pending:  # the B-tree of the newest version, nodes first, then the values they cite
        location = pending.pop()
        path, end = _file_range(directory, location)
        problem = _short(directory, path, end)
        if problem:
            return problem
        try:
            node = ts.ocdbt.dump(kvstore, location).result()
        except Exception as error:  # a damaged node: tensorstore's error names no file
            return f"{path.relative_to(directory)} is unreadable ({_first_line(error)})"
        for entry in node.get("entries", []):
            if "location" in entry:
                pending.append(entry["location"])
            elif "indirect_value" in entry:
                path, end = _file_range(directory, entry["indirect_value"])
                value_ends[path] = max(value_ends.get(path, 0), end)
    for path, end in sorted(value_ends.items()):
        problem = _short(directory, path, end)
        if problem:
            return problem
    return None


def _file_range(directory: pathlib.Path, location: str) -> tuple[pathlib.Path, int]:
    """'<kind>:<base path>:<file>:<offset>:<length>' -> (the file, the end of the range)."""
    _, rest = location.split(":", 1)
    names, offset, length = rest.rsplit(":", 2)
    base, name = names.split(":", 1)
    path = directory / urllib.parse.unquote(base) / urllib.parse.unquote(name)
    return path, int(offset) + int(length)


def _short(directory: pathlib.Path, path: pathlib.Path, end: int) -> str | None:
    name = path.relative_to(directory)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return f"{name} is missing"
    if size < end:
        return f"{name} is truncated ({size:,} bytes; the checkpoint's index needs {end:,})"
    return None


def _first_line(error: Any) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
