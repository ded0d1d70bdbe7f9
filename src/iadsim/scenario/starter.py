"""The starter scenario that ``iadsim init`` writes: the reference data, one override, one flight."""

from __future__ import annotations

import json
from importlib import resources

__all__ = ["starter_scenario"]


def starter_scenario(name: str, file_name: str) -> str:
    """The text of a starter scenario.

    Args:
        name: the scenario's name (any text; written as a YAML string).
        file_name: the file it will be written to, named in its first comment.
    """
    template = resources.files("iadsim").joinpath("scenario", "templates", "starter.yaml").read_text("utf-8")
    # a JSON string is a YAML string: quotes, colons and non-ASCII names stay the user's text
    return template.format(name=json.dumps(name, ensure_ascii=False), file=file_name)
