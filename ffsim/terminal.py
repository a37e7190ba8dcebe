"""Text from the network made safe to print on an operator's terminal."""

from __future__ import annotations

import re
import unicodedata

# C0 controls (tab and newline included: every printed piece is one line), DEL and C1 controls:
# ESC and CSI start the sequences that move the cursor, retitle the window or rewrite the screen
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
# characters that print nothing of their own but change how the rest is shown: format characters
# (bidi embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069 reorder a line, so that
# "evil.exe" can read as "exe.live"; zero-width spaces and joiners, the soft hyphen, the BOM, tag
# characters) and the line and paragraph separators U+2028 and U+2029, which some terminals break on
_HIDDEN = {"Cf", "Zl", "Zp"}


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _hidden(match: re.Match) -> str:
    char = match.group()
    return _escape(char) if unicodedata.category(char) in _HIDDEN else char


def printable(text: object) -> str:
    """text with every control and format character shown as its escape (ESC as \\x1b, a bidi
    override as \\u202e) and a lone surrogate as its escape, never an error; ordinary text,
    non-ASCII letters included, unchanged."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    text = _CONTROL.sub(lambda m: _escape(m.group()), text)
    if not text.isascii():
        text = _NON_ASCII.sub(_hidden, text)
    return text
