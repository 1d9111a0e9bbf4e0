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


class _NoDuplicateKeys:
    """Refuses duplicate mapping keys instead of silently keeping the last (mixed into a loader)."""

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


class NoDuplicateKeysLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of silently keeping the last."""


# libyaml's parser (PyYAML's C extension) where it is installed: the same safe constructor and
# resolver, about 20x faster than the pure-Python scanner (issue 16: the first visit after a
# process start parsed the content for about a second)
_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FastNoDuplicateKeysLoader(_NoDuplicateKeys, _SAFE):
    pass


MAX_NESTING = 50  # the deepest shipped content nests 6 levels


class YAMLProblem(Exception):
    """A file that is not acceptable YAML: ``line`` (or None) and a one-line ``message``."""

    def __init__(self, line: Optional[int], message: str):
        super().__init__(message)
        self.line, self.message = line, " ".join(message.split())


def parse_yaml(text: str) -> tuple[yaml.Node, object]:
    """The composed node tree (for line numbers) and the data of one YAML document.

    Refused with :class:`YAMLProblem` (issue 15, finding 13), each as one line: syntax errors;
    ``!!python`` tags; duplicate keys; a character YAML does not allow, such as NUL, at its
    line; and lists/mappings nested more than :data:`MAX_NESTING` deep. Nesting is measured on
    PyYAML's event stream, which is iterative, before composing: the composer recurses once per
    level and raises RecursionError near 1,000.
    """
    try:
        return _parse_yaml(text, _SAFE, _FastNoDuplicateKeysLoader)
    except YAMLProblem:
        if _SAFE is yaml.SafeLoader:
            raise
    # a refused file is read again by the pure-Python parser, whose messages name the character at fault
    return _parse_yaml(text, yaml.SafeLoader, NoDuplicateKeysLoader)


def _parse_yaml(text: str, events_loader, loader_cls) -> tuple[yaml.Node, object]:
    try:
        depth = 0
        for event in yaml.parse(text, Loader=events_loader):
            depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
            if depth > MAX_NESTING:
                raise YAMLProblem(event.start_mark.line + 1,
                                  f"lists/mappings nest more than {MAX_NESTING} levels deep here; flatten the file")
        loader = loader_cls(text)  # composed once; the data is constructed from that tree
        try:
            node = loader.get_single_node()
            return node, (loader.construct_document(node) if node is not None else None)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if "python/" in str(problem) or "could not determine a constructor" in str(problem):
            problem = f"{problem}; only plain YAML is accepted (no !!python tags)"
        raise YAMLProblem(mark.line + 1 if mark else None, f"YAML syntax error: {problem}") from None
    except yaml.reader.ReaderError as exc:  # e.g. a NUL byte; PyYAML gives the character's code point
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YAMLProblem(text.count("\n", 0, exc.position) + 1, f"YAML syntax error: {exc.reason} "
                          f"(character #x{code:04x}); remove it") from None
    except yaml.YAMLError as exc:
        raise YAMLProblem(None, f"YAML syntax error: {exc}") from None


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
