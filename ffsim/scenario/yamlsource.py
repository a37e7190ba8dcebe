"""YAML text to plain Python data, keeping where every key and value stands.

PyYAML's composer gives each node a start mark (line and column); this module
turns the node tree into dicts, lists and scalars and records those marks by
path, so every later problem can be reported as ``file:line:col``.

Scalars follow the YAML 1.2 core schema rather than PyYAML's YAML 1.1 default:
only ``true``/``false`` are booleans (so the country code ``NO`` and the answer
``yes`` stay text), ``017`` is seventeen and ``1:30`` is text, and timestamps
stay text for the scenario loader to parse.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import yaml

Path = tuple  # of str keys and int indices

MAX_NODES = 2_000_000  # alias bombs expand exponentially; stop well before memory does
MAX_INT_DIGITS = 4300  # Python's int/str conversion limit (sys.get_int_max_str_digits)


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {}
_CORE = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
]
_SYNTAX = {}  # tag -> the text an explicitly tagged scalar (!!int 0x) must match
for _tag, _pattern, _first in _CORE:
    _SYNTAX[_tag] = re.compile(_pattern)
    _Loader.add_implicit_resolver(_tag, _SYNTAX[_tag], _first)
_TAG_NAMES = {"tag:yaml.org,2002:int": "an integer", "tag:yaml.org,2002:float": "a number",
              "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "null"}


@dataclass
class Located:
    """Plain data plus the (line, column) of each value and key, both 1-based."""

    data: object
    values: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)  # source text of unquoted numbers, by path

    def where(self, path: Path, key: bool = False) -> tuple[int, int]:
        """Position of the value (or key) at path, else of its nearest ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))


class YamlProblem(Exception):
    def __init__(self, line: int, column: int, message: str):
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def _pos(mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _scalar(node: yaml.ScalarNode) -> object:
    tag, text = node.tag, node.value
    if tag == "tag:yaml.org,2002:str":
        return text
    if tag in _TAG_NAMES and not _SYNTAX[tag].fullmatch(text):  # only an explicit tag gets here
        # the text is not shown: it may be a password
        raise YamlProblem(*_pos(node.start_mark), f"!!{tag.rsplit(':', 1)[-1]}: the text is not {_TAG_NAMES[tag]}")
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return text.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        sign = -1 if text.startswith("-") else 1
        body = text.lstrip("+-")
        if not body.startswith(("0o", "0x")) and len(body) > MAX_INT_DIGITS:
            raise YamlProblem(*_pos(node.start_mark), f"an integer of {len(body)} digits is too long "
                              f"(at most {MAX_INT_DIGITS} digits)")
        if body.startswith("0o"):
            value = int(body[2:], 8)
        elif body.startswith("0x"):
            value = int(body[2:], 16)
        else:
            return sign * int(body)
        if value.bit_length() > MAX_INT_DIGITS * 3:  # 2**12900 has fewer than 4300 decimal digits
            raise YamlProblem(*_pos(node.start_mark), f"an integer of more than {MAX_INT_DIGITS} digits is too long")
        return value
    if tag == "tag:yaml.org,2002:float":
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        return float(text)
    if tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:merge"):
        return text
    raise YamlProblem(*_pos(node.start_mark), f"unsupported YAML tag {tag!r}")


class _Builder:
    def __init__(self, loader: _Loader):
        self.loader = loader
        self.located = Located(None)
        self.count = 0

    def build(self, node, path: Path, ancestors: frozenset) -> object:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(*_pos(node.start_mark), "document too large (too many nodes or aliases)")
        self.located.values[path] = _pos(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            value = _scalar(node)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.located.sources[path] = node.value
            return value
        if id(node) in ancestors:
            raise YamlProblem(*_pos(node.start_mark), "an alias refers to a node that contains it")
        inner = ancestors | {id(node)}
        if node.tag not in ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"):
            raise YamlProblem(*_pos(node.start_mark), f"unsupported YAML tag {node.tag!r}")
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,), inner) for i, child in enumerate(node.value)]
        return self._mapping(node, path, inner)

    def _mapping(self, node: yaml.MappingNode, path: Path, ancestors: frozenset) -> dict:
        seen: dict = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlProblem(*_pos(key_node.start_mark), "a key must be plain text, not a list or mapping")
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = _scalar(key_node)
            if key in seen:
                line, col = seen[key]
                raise YamlProblem(
                    *_pos(key_node.start_mark), f"duplicate key {key!r} (first given at line {line}, column {col})"
                )
            seen[key] = _pos(key_node.start_mark)
        try:
            self.loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark or node.start_mark
            raise YamlProblem(*_pos(mark), exc.problem or "invalid merge key") from None
        result: dict = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if not isinstance(key, str):
                raise YamlProblem(*_pos(key_node.start_mark), f"a key must be text, got {key!r}")
            self.located.keys[path + (key,)] = _pos(key_node.start_mark)
            result[key] = self.build(value_node, path + (key,), ancestors)
        return result


def _reader_position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def load(text: str) -> Located:
    """Parse one YAML document; raise YamlProblem with its position on any error."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise YamlProblem(*_reader_position(text, exc.position),
                          f"not valid YAML: character {exc.character!r} is not allowed") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, {(): (1, 1)})
        builder = _Builder(loader)
        builder.located.data = builder.build(node, (), frozenset())
        return builder.located
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark else (1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.context}: {exc.problem}"
        raise YamlProblem(line, col, f"not valid YAML: {message}") from None
    except yaml.reader.ReaderError as exc:
        raise YamlProblem(*_reader_position(text, exc.position),
                          f"not valid YAML: character {exc.character!r} is not allowed") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlProblem(1, 1, "document nested too deeply") from None
    finally:
        loader.dispose()
