"""Text from the network made safe to print on an operator's terminal."""

from __future__ import annotations

import re

# C0 controls (tab and newline included: every printed piece is one line), DEL and C1 controls:
# ESC and CSI start the sequences that move the cursor, retitle the window or rewrite the screen
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(text: object) -> str:
    """text with every control character shown as its escape (ESC as \\x1b) and a lone
    surrogate as its escape, never an error; ordinary text, non-ASCII included, unchanged."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
