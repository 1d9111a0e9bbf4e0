"""Reading content YAML with line numbers, and content errors as ``path:line: field: message``.

Kept apart from ``content.py`` (the models and the library) so that each stays short: this
module knows YAML and pydantic's error format, nothing about vignettes or instruments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import yaml


@dataclass(frozen=True)
class ContentError:
    path: str
    line: Optional[int]
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line or 1}: {self.field}: {self.message}"


class NoDuplicateKeysLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of silently keeping the last."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def line_of(root: Optional[yaml.Node], loc: tuple, tags: frozenset = frozenset()) -> Optional[int]:
    """Follow a pydantic error location through the composed YAML node tree to a line.

    ``tags`` are discriminated-union tags (such as 'training_hours') that pydantic puts in a
    location although they are not YAML keys; they are skipped."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if str(k.value) == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            if nxt is None:
                if part in tags:  # a discriminated-union tag, not a YAML key
                    continue
                break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            # a discriminated-union tag such as 'training_hours' is not a YAML key: skip it
            continue
    return line


def field_name(loc: tuple, tags: frozenset = frozenset()) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        else:
            if p in tags:
                continue
            parts.append(("." if parts else "") + str(p))
    return "".join(parts) or "(file)"




def friendly(err: dict) -> str:
    """A pydantic error as a sentence that says what to do."""
    t = err.get("type", "")
    msg = err.get("msg", "invalid value")
    if t == "missing":
        return "is required but missing; add it"
    if t == "extra_forbidden":
        return "is not a known field; check its spelling or remove it"
    if t == "literal_error":
        return f"{msg.replace('Input should be', 'must be one of')}; got {err.get('input')!r}"
    if t.startswith("value_error"):
        return msg.replace("Value error, ", "")
    return f"{msg} (got {err.get('input')!r})" if "input" in err and not isinstance(err.get("input"), (dict, list)) else msg
