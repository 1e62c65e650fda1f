"""YAML loading with limits: a small file cannot make a huge document.

PyYAML's ``safe_load`` refuses arbitrary objects but not an alias bomb: nine anchors of nine
aliases each are 476 bytes and expand to 387 million values once anything walks the result
(environment expansion, validation). PyYAML has no limit of its own, so this module composes
the node graph (where an alias is one shared node, nothing is expanded), measures it, and only
then builds Python values from it: the size of the text, the number of aliases, and the number
of values the document would have with every alias expanded, each against a limit, plus a
refusal of recursive anchors. The node graph is returned too, for line numbers in errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from vms.errors import ConfigError

# libyaml's parser when PyYAML has it (fast on a big camera list); the same node graph either way.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlLimits:
    """Bounds far above any real configuration (thousands of cameras) and far below harm."""

    max_bytes: int = 16 << 20
    max_aliases: int = 10_000
    max_values: int = 2_000_000
    max_depth: int = 100


LIMITS = YamlLimits()


def _measure(root: yaml.Node, limits: YamlLimits, source: str) -> None:
    """Count aliases and expanded values without expanding anything; refuse past a limit."""
    expanded: dict[int, int] = {}  # node id -> values under it, aliases expanded
    seen: set[int] = set()
    aliases = 0
    # Iterative post-order walk: a deep document must not hit Python's recursion limit.
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    in_progress: set[int] = set()
    while stack:
        node, done, depth = stack.pop()
        key = id(node)
        if done:
            in_progress.discard(key)
            total = 1
            for child in _children(node):
                total += expanded[id(child)]
            expanded[key] = total
            if total > limits.max_values:
                raise ConfigError(
                    f"{source}: refused: the document would expand to more than "
                    f"{limits.max_values:,} values (line {node.start_mark.line + 1}); "
                    "is it an alias bomb?"
                )
            continue
        if key in seen:
            if key in in_progress:
                raise ConfigError(
                    f"{source}: refused: a recursive alias (line {node.start_mark.line + 1}) "
                    "refers to the value that contains it"
                )
            aliases += 1
            if aliases > limits.max_aliases:
                raise ConfigError(
                    f"{source}: refused: more than {limits.max_aliases:,} YAML aliases "
                    f"(*name) (line {node.start_mark.line + 1})"
                )
            continue
        if depth > limits.max_depth:
            raise ConfigError(
                f"{source}: refused: values nested more than {limits.max_depth} deep "
                f"(line {node.start_mark.line + 1})"
            )
        seen.add(key)
        in_progress.add(key)
        stack.append((node, True, depth))
        stack.extend((child, False, depth + 1) for child in reversed(_children(node)))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(
    text: str, source: str = "<yaml>", limits: YamlLimits = LIMITS
) -> tuple[Any, yaml.Node | None]:
    """(the document's value, its node graph); ConfigError for bad YAML or a limit passed."""
    size = len(text.encode("utf-8"))
    if size > limits.max_bytes:
        raise ConfigError(
            f"{source}: refused: {size:,} bytes, more than the {limits.max_bytes:,} a "
            "configuration may have"
        )
    loader = _Loader(text)
    try:
        tree = loader.get_single_node()
        if tree is None:
            return None, None
        _measure(tree, limits, source)
        return loader.construct_document(tree), tree
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
