"""YAML text to plain Python data, keeping where every key and value stands.

The parser (libyaml when PyYAML has it, else PyYAML's own) gives a stream of events,
each with its line and column; this module composes them into a light node tree and
turns that into dicts, lists and scalars, so every later problem can be reported as
``file:line:col``.

The work is bounded, whatever the text holds: nesting deeper than MAX_DEPTH is refused
where it gets too deep, a document of more than MAX_NODES values is refused where it passes
that many, and one that aliases (merge keys included) would expand beyond NODES_BASE +
NODES_PER_BYTE values a character of the file is refused at the alias being expanded when
the count passes that, long before an alias bomb's billion values.

Scalars follow the YAML 1.2 core schema rather than PyYAML's YAML 1.1 default:
only ``true``/``false`` are booleans (so the country code ``NO`` and the answer
``yes`` stay text), ``017`` is seventeen and ``1:30`` is text, and timestamps
stay text for the scenario loader to parse.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import yaml
from yaml import events as E
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

try:  # libyaml: about twenty times as fast as PyYAML's own parser
    from yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

Path = tuple  # of str keys and int indices

MAX_DEPTH = 100  # a scenario is 6 levels deep; far more is a stack to overflow, not a scenario
# values (keys included) in the built document, aliases expanded: the bound on the work of every later
# step (jsonschema takes about 4 us a value), so that any file is answered in seconds; a scenario of
# 15,000 vehicles written out one by one fits
MAX_NODES = 250_000
NODES_PER_BYTE, NODES_BASE = 4, 100_000  # what aliases may add, by file size: an alias bomb stops early
MAX_INT_DIGITS = 4300  # Python's int/str conversion limit (sys.get_int_max_str_digits)

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
_STR, _SEQ, _MAP, _MERGE = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map",
                            "tag:yaml.org,2002:merge")
_SYNTAX = {}  # tag -> the text a scalar of that tag must match (an explicit !!int 0x does not)
_RESOLVERS: dict = {}  # first character of a plain scalar -> [(tag, pattern)], in order
for _tag, _pattern, _first in _CORE:
    _SYNTAX[_tag] = re.compile(_pattern)
    for _char in _first:
        _RESOLVERS.setdefault(_char, []).append((_tag, _SYNTAX[_tag]))
_TAG_NAMES = {"tag:yaml.org,2002:int": "an integer", "tag:yaml.org,2002:float": "a number",
              "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "null"}
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
# what YAML (PyYAML's reader and libyaml alike) refuses anywhere in the text
_NOT_ALLOWED = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_SCALAR, _SEQUENCE, _MAPPING = 0, 1, 2


class _Node:
    """One value as written: a scalar's text and tag, or a container's children."""

    __slots__ = ("kind", "tag", "value", "line", "column", "anchored", "entries")

    def __init__(self, kind: int, tag: str, value, line: int, column: int):
        self.kind = kind
        self.tag = tag
        self.value = value  # text; [node]; [(key node, value node)]
        self.line = line
        self.column = column
        self.anchored = False
        self.entries: dict | None = None  # a mapping's key -> (key line, key column, value node), merges done


class _Alias:
    """Where an alias stands, and the node it names."""

    __slots__ = ("node", "line", "column")

    def __init__(self, node: _Node, line: int, column: int):
        self.node = node
        self.line = line
        self.column = column


def _target(node: _Node | _Alias) -> _Node:
    return node.node if isinstance(node, _Alias) else node


@dataclass
class Located:
    """Plain data plus the (line, column) of each value and key, both 1-based."""

    data: object
    root: _Node | None = None  # the node tree the data was built from
    origin: tuple = (1, 1)

    def _walk(self, path: Path):
        """The nodes along path (as far as it exists), each with the key position that led there."""
        if self.root is None:
            return []
        node: _Node | _Alias = self.root
        key_pos: tuple[int, int] | None = None
        trail: list[tuple[_Node | _Alias, tuple[int, int] | None]] = []
        trail.append((node, None))
        for part in path:
            target = _target(node)
            if target.kind == _SEQUENCE and isinstance(part, int) and 0 <= part < len(target.value):
                node, key_pos = target.value[part], None
            elif target.kind == _MAPPING and target.entries is not None and part in target.entries:
                line, column, node = target.entries[part]
                key_pos = (line, column)
            else:
                break
            trail.append((node, key_pos))
        return trail

    def where(self, path: Path, key: bool = False) -> tuple[int, int]:
        """Position of the value (or key) at path, else of its nearest ancestor."""
        trail = self._walk(tuple(path))
        if not trail:
            return self.origin
        node, key_pos = trail[-1]
        if key and key_pos is not None:
            return key_pos
        return (node.line, node.column)

    def source(self, path: Path) -> str | None:
        """The text of an unquoted number at path, as written (None for anything else)."""
        trail = self._walk(tuple(path))
        if len(trail) != len(path) + 1:
            return None
        node = _target(trail[-1][0])
        if node.kind == _SCALAR and node.tag in _NUMBERS:
            return node.value
        return None


class YamlProblem(Exception):
    def __init__(self, line: int, column: int, message: str):
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def _pos(mark) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


def _scalar(node: _Node) -> object:
    tag, text = node.tag, node.value
    if tag == _STR:
        return text
    if tag in _TAG_NAMES and not _SYNTAX[tag].fullmatch(text):  # only an explicit tag gets here
        # the text is not shown: it may be a password
        raise YamlProblem(node.line, node.column, f"!!{tag.rsplit(':', 1)[-1]}: the text is not {_TAG_NAMES[tag]}")
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return text.lower() == "true"
    if tag == "tag:yaml.org,2002:int":
        sign = -1 if text.startswith("-") else 1
        body = text.lstrip("+-")
        if not body.startswith(("0o", "0x")) and len(body) > MAX_INT_DIGITS:
            raise YamlProblem(node.line, node.column, f"an integer of {len(body)} digits is too long "
                              f"(at most {MAX_INT_DIGITS} digits)")
        if body.startswith("0o"):
            value = int(body[2:], 8)
        elif body.startswith("0x"):
            value = int(body[2:], 16)
        else:
            return sign * int(body)
        if value.bit_length() > MAX_INT_DIGITS * 3:  # 2**12900 has fewer than 4300 decimal digits
            raise YamlProblem(node.line, node.column, f"an integer of more than {MAX_INT_DIGITS} digits is too long")
        return value
    if tag == "tag:yaml.org,2002:float":
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":
            return math.nan
        return float(text)
    if tag in ("tag:yaml.org,2002:timestamp", _MERGE):
        return text
    raise YamlProblem(node.line, node.column, f"unsupported YAML tag {_shown_tag(tag)}")


def _shown_tag(tag: str) -> str:
    return repr(tag if len(tag) <= 60 else tag[:57] + "...")


def _resolve(event) -> str:
    """The tag of a scalar event: its own, else by the core schema for plain text, else str."""
    tag = event.tag
    if tag is not None and tag != "!":
        return tag
    if event.implicit[0]:
        value = event.value
        for resolved, pattern in _RESOLVERS.get(value[:1], ()):
            if pattern.match(value):
                return resolved
    return _STR


_BAD_ESCAPE = ("an escape names no character (\\ud800 to \\udfff are halves of one: write \\U0001xxxx; "
               "the last is \\U0010ffff)")


class _PyParser(Reader, Scanner, Parser):
    """PyYAML's own parser, where libyaml is missing."""

    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)

    def get_event(self):
        try:
            return Parser.get_event(self)
        except ValueError:  # chr() of an escape beyond U+10FFFF ("\U00110000")
            mark = self.get_mark()
            raise YamlProblem(mark.line + 1, mark.column + 1, f"not valid YAML: {_BAD_ESCAPE}") from None


def _parser(text: str):
    return _CParser(text) if _CParser is not None else _PyParser(text)


def node_limit(text: str) -> int:
    """How many values a document of this text may build, aliases expanded."""
    return min(MAX_NODES, NODES_BASE + NODES_PER_BYTE * len(text))


def _limit_text(limit: int, size: int) -> str:
    if limit >= MAX_NODES:
        return f"{limit} values (keys included; the most a scenario may hold)"
    return (f"{limit} values (keys included; the most a file of {size} characters may expand to is "
            f"{NODES_BASE} + {NODES_PER_BYTE} per character)")


def _too_large(line: int, column: int, limit: int, size: int) -> YamlProblem:
    return YamlProblem(line, column, f"too many nodes: the document holds more than {_limit_text(limit, size)}")


def _compose(parser, limit: int, size: int) -> _Node | None:
    """The node tree of the one document in the event stream (None when there is none)."""
    get = parser.get_event
    get()  # StreamStart
    event = get()
    if isinstance(event, E.StreamEndEvent):
        return None
    anchors: dict = {}
    stack: list = []  # open containers: [node, pending key node or None]
    root = None
    count = 0
    while True:
        event = get()
        kind = type(event)
        if kind is E.MappingEndEvent or kind is E.SequenceEndEvent:
            entry = stack.pop()
            if entry[1] is not None:  # cannot happen: the parser pairs keys and values
                raise YamlProblem(*_pos(event.start_mark), "not valid YAML: a key without a value")
            continue
        if kind is E.DocumentEndEvent:
            break
        count += 1
        if count > limit:
            raise _too_large(event.start_mark.line + 1, event.start_mark.column + 1, limit, size)
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        node: _Node | _Alias
        if kind is E.ScalarEvent:
            node = _Node(_SCALAR, _resolve(event), event.value, line, column)
        elif kind is E.AliasEvent:
            if event.anchor not in anchors:
                raise YamlProblem(line, column, f"not valid YAML: found undefined alias {event.anchor!r}")
            node = _Alias(anchors[event.anchor], line, column)
        elif kind is E.SequenceStartEvent or kind is E.MappingStartEvent:
            if len(stack) >= MAX_DEPTH:
                raise YamlProblem(line, column, f"document nested too deeply (more than {MAX_DEPTH} levels)")
            tag = event.tag
            if tag is None or tag == "!":
                tag = _SEQ if kind is E.SequenceStartEvent else _MAP
            node = _Node(_SEQUENCE if kind is E.SequenceStartEvent else _MAPPING, tag, [], line, column)
        else:
            raise YamlProblem(line, column, "not valid YAML: expected a single document in the stream")
        anchor = getattr(event, "anchor", None)
        if anchor is not None and isinstance(node, _Node):  # an alias event's anchor is the name it uses
            if anchor in anchors:
                first = anchors[anchor]
                raise YamlProblem(line, column, f"not valid YAML: duplicate anchor {anchor!r} (first given at line "
                                                f"{first.line}, column {first.column})")
            anchors[anchor] = node
            node.anchored = True
        if not stack:
            root = _target(node)  # a document of an alias alone has no anchor to name: it was refused above
        else:
            parent = stack[-1]
            if parent[0].kind == _SEQUENCE:
                parent[0].value.append(node)
            elif parent[1] is None:
                parent[1] = node
            else:
                parent[0].value.append((parent[1], node))
                parent[1] = None
        if kind is E.SequenceStartEvent or kind is E.MappingStartEvent:
            stack.append([node, None])
    event = get()
    if not isinstance(event, E.StreamEndEvent):
        raise YamlProblem(*_pos(event.start_mark), "not valid YAML: expected a single document in the stream, "
                                                   "but found another document")
    return root


class _Builder:
    def __init__(self, limit: int, size: int):
        self.limit = limit
        self.size = size
        self.count = 0
        self.active: set = set()  # anchored containers being built: an alias to one of them is a loop
        self.alias: _Alias | None = None  # the outermost alias being expanded

    def _too_many(self, node: _Node) -> YamlProblem:
        if self.alias is not None:
            return YamlProblem(self.alias.line, self.alias.column, f"too many nodes: this alias expands the document "
                                                                   f"to more than {_limit_text(self.limit, self.size)}")
        return _too_large(node.line, node.column, self.limit, self.size)

    def build(self, item, depth: int) -> object:
        if isinstance(item, _Alias):
            if id(item.node) in self.active:
                raise YamlProblem(item.line, item.column, "an alias refers to a node that contains it")
            outermost = self.alias is None
            if outermost:
                self.alias = item
            try:
                return self.build(item.node, depth)
            finally:
                if outermost:
                    self.alias = None
        node: _Node = item
        self.count += 1
        if self.count > self.limit:
            raise self._too_many(node)
        if node.kind == _SCALAR:
            return _scalar(node)
        if depth >= MAX_DEPTH:
            raise YamlProblem(node.line, node.column, f"document nested too deeply (more than {MAX_DEPTH} levels)")
        if node.tag not in (_SEQ, _MAP):
            raise YamlProblem(node.line, node.column, f"unsupported YAML tag {_shown_tag(node.tag)}")
        if node.anchored:
            self.active.add(id(node))
        try:
            if node.kind == _SEQUENCE:
                return [self.build(child, depth + 1) for child in node.value]
            entries = self._entries(node, depth)
            return {key: self.build(value, depth + 1) for key, (_, _, value) in entries.items()}
        finally:
            if node.anchored:
                self.active.discard(id(node))

    def _entries(self, node: _Node, depth: int) -> dict:
        """key -> (line, column, value node) of a mapping, merge keys (<<) applied, once per node."""
        if node.entries is not None:
            self.count += len(node.entries)
            if self.count > self.limit:
                raise self._too_many(node)
            return node.entries
        own: dict = {}
        merges = []
        for key_item, value in node.value:
            key_node = _target(key_item)
            if key_node.kind != _SCALAR:
                raise YamlProblem(key_item.line, key_item.column, "a key must be plain text, not a list or mapping")
            if key_node.tag == _MERGE:
                merges.append(value)
                continue
            key = _scalar(key_node)
            if not isinstance(key, str):
                raise YamlProblem(key_item.line, key_item.column, f"a key must be text, got {key!r}")
            if key in own:
                line, col, _ = own[key]
                raise YamlProblem(key_item.line, key_item.column,
                                  f"duplicate key {key!r} (first given at line {line}, column {col})")
            own[key] = (key_item.line, key_item.column, value)
        entries: dict = {}
        for merge in merges:  # earlier merges win over later ones, the mapping's own keys over all
            target = _target(merge)
            sources = [merge] if target.kind == _MAPPING else target.value if target.kind == _SEQUENCE else None
            if sources is None:
                raise YamlProblem(merge.line, merge.column, "a merge key (<<) takes a mapping or a list of mappings")
            for source in sources:
                if isinstance(source, _Alias) and self.alias is None:
                    self.alias = source  # what a merge costs is said at its alias
                    try:
                        self._merge(source, depth, entries)
                    finally:
                        self.alias = None
                else:
                    self._merge(source, depth, entries)
        entries.update(own)
        self.count += len(own)  # keys count too: a merge repeated many times is as costly as an alias
        if self.count > self.limit:
            raise self._too_many(node)
        node.entries = entries
        return entries

    def _merge(self, source, depth: int, entries: dict) -> None:
        """Add the keys of one mapping of a merge key (<<) that entries does not have yet."""
        mapping = _target(source)
        if mapping.kind != _MAPPING:
            raise YamlProblem(source.line, source.column, "a merge key (<<) takes a mapping or a list of mappings")
        if depth + 1 >= MAX_DEPTH:
            raise YamlProblem(source.line, source.column, f"document nested too deeply (more than {MAX_DEPTH} levels)")
        if mapping.anchored and id(mapping) in self.active:
            raise YamlProblem(source.line, source.column, "an alias refers to a node that contains it")
        for key, entry in self._entries(mapping, depth + 1).items():
            entries.setdefault(key, entry)


_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # what YAML counts as a line break


def _reader_position(text: str, index: int) -> tuple[int, int]:
    line, start = 1, 0
    for found in _BREAK.finditer(text, 0, index):
        line, start = line + 1, found.end()
    return line, index - start + 1


def load(text: str) -> Located:
    """Parse one YAML document; raise YamlProblem with its position on any error."""
    bad = _NOT_ALLOWED.search(text)
    if bad:
        raise YamlProblem(*_reader_position(text, bad.start()),
                          f"not valid YAML: character {bad.group()!r} is not allowed")
    limit = node_limit(text)
    parser = _parser(text)
    try:
        root = _compose(parser, limit, len(text))
        if root is None:
            return Located(None)
        builder = _Builder(limit, len(text))
        return Located(builder.build(root, 0), root, (root.line, root.column))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark else (1, 1)
        if exc.problem == "exceeded maximum nesting depth":  # libyaml's own limit, met first at 1000 flow levels
            raise YamlProblem(line, col, f"document nested too deeply (more than {MAX_DEPTH} levels)") from None
        message = exc.problem or exc.context or "invalid YAML"
        if exc.problem == "found invalid Unicode character escape code":  # libyaml; at the hex digits
            col = max(1, col - 2)  # the backslash
            message = _BAD_ESCAPE
        elif exc.context and exc.problem:
            message = f"{exc.context}: {exc.problem}"
        raise YamlProblem(line, col, f"not valid YAML: {message}") from None
    except yaml.reader.ReaderError as exc:
        raise YamlProblem(*_reader_position(text, exc.position), f"not valid YAML: {exc.reason}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, f"not valid YAML: {exc}") from None
    finally:
        if isinstance(parser, _PyParser):
            parser.dispose()
