"""Plausible plates per country, their regions, and vehicle vocabularies.

Randomness goes through :class:`Rng`, which uses only ``random.Random.random()``:
that is the one method whose sequence Python promises to keep across versions,
so a seed gives the same traffic on every supported interpreter.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from itertools import accumulate
import unicodedata
from collections.abc import Callable, Sequence

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


class Rng:
    __slots__ = ("random",)

    def __init__(self, *seed_parts: object):
        self.random = random.Random("/".join(str(p) for p in seed_parts)).random

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def index(self, n: int) -> int:
        return int(self.random() * n)  # random() < 1, so always < n

    def choice(self, items: Sequence):
        return items[int(self.random() * len(items))]

    def weighted(self, choices: Weighted):
        return choices.items[bisect_right(choices.cumulative, self.random() * choices.total)]

    def expovariate(self, rate: float) -> float:
        return -math.log(1.0 - self.random()) / rate

    def chars(self, alphabet: str, n: int) -> str:
        r, size = self.random, len(alphabet)
        return "".join([alphabet[int(r() * size)] for _ in range(n)])


class Weighted:
    """Items with weights, ready for Rng.weighted."""

    __slots__ = ("items", "cumulative", "total")

    def __init__(self, pairs: Sequence[tuple[object, float]]):
        self.items = [item for item, weight in pairs if weight > 0]
        self.cumulative = list(accumulate(weight for _, weight in pairs if weight > 0))
        self.total = self.cumulative[-1]
        self.cumulative[-1] = math.inf  # random() * total can round up to total


# (code on the plate, region name, ISO 3166-2 subdivision)
CZE_REGIONS = {
    "A": ("Praha", "CZ-10"), "S": ("Stredocesky", "CZ-20"), "C": ("Jihocesky", "CZ-31"),
    "P": ("Plzensky", "CZ-32"), "K": ("Karlovarsky", "CZ-41"), "U": ("Ustecky", "CZ-42"),
    "L": ("Liberecky", "CZ-51"), "H": ("Kralovehradecky", "CZ-52"), "E": ("Pardubicky", "CZ-53"),
    "J": ("Vysocina", "CZ-63"), "B": ("Jihomoravsky", "CZ-64"), "M": ("Olomoucky", "CZ-71"),
    "Z": ("Zlinsky", "CZ-72"), "T": ("Moravskoslezsky", "CZ-80"),
}
DEU_REGIONS = {
    "B": ("Berlin", "DE-BE"), "M": ("München", "DE-BY"), "HH": ("Hamburg", "DE-HH"),
    "K": ("Köln", "DE-NW"), "F": ("Frankfurt am Main", "DE-HE"), "S": ("Stuttgart", "DE-BW"),
    "D": ("Düsseldorf", "DE-NW"), "DD": ("Dresden", "DE-SN"), "L": ("Leipzig", "DE-SN"),
    "N": ("Nürnberg", "DE-BY"),
}
POL_REGIONS = {
    "WA": ("Warszawa", "PL-14"), "KR": ("Kraków", "PL-12"), "PO": ("Poznań", "PL-30"),
    "GD": ("Gdańsk", "PL-22"), "DW": ("Wrocław", "PL-02"), "EL": ("Łódź", "PL-10"),
}
UKR_REGIONS = {
    "AA": ("Kyiv", "UA-30"), "BC": ("Lviv", "UA-46"), "AX": ("Kharkiv", "UA-63"),
    "BH": ("Odesa", "UA-51"), "AE": ("Dnipro", "UA-12"),
}
GBR_REGIONS = {
    "L": ("London", ""), "M": ("Manchester", ""), "B": ("Birmingham", ""), "Y": ("Yorkshire", ""),
    "S": ("Scotland", ""), "W": ("West of England", ""),
}
USA_STATES = {"CA": "California", "TX": "Texas", "NY": "New York", "FL": "Florida", "WA": "Washington"}
FRA_DEPARTMENTS = {"75": "Paris", "69": "Rhone", "13": "Bouches-du-Rhone", "33": "Gironde", "67": "Bas-Rhin"}

_KEYS: dict[str, tuple[str, ...]] = {
    "CZE_REGIONS": tuple(CZE_REGIONS), "DEU_REGIONS": tuple(DEU_REGIONS), "POL_REGIONS": tuple(POL_REGIONS),
    "UKR_REGIONS": tuple(UKR_REGIONS), "GBR_REGIONS": tuple(GBR_REGIONS), "USA_STATES": tuple(USA_STATES),
    "FRA_DEPARTMENTS": tuple(FRA_DEPARTMENTS),
}
_FRA_LETTERS = LETTERS.replace("I", "").replace("O", "").replace("U", "")
_SWE_LETTERS = LETTERS.replace("I", "").replace("Q", "").replace("V", "")

# A plate generator returns (plate as shown on the vehicle, region, region code, ISO 3166-2).
Generated = tuple[str, str, str, str]


def _cze(rng: Rng) -> Generated:
    code = rng.choice(_KEYS['CZE_REGIONS'])
    region, iso = CZE_REGIONS[code]
    third = rng.choice(LETTERS + DIGITS)
    return f"{rng.choice('123456789')}{code}{third} {rng.chars(DIGITS, 4)}", region, code, iso


def _deu(rng: Rng) -> Generated:
    code = rng.choice(_KEYS['DEU_REGIONS'])
    region, iso = DEU_REGIONS[code]
    letters = rng.chars(LETTERS, 1 + rng.index(2))
    number = str(1 + rng.index(9999))
    return f"{code} {letters} {number}", region, code, iso


def _gbr(rng: Rng) -> Generated:
    code = rng.choice(_KEYS['GBR_REGIONS'])
    age = rng.choice(["21", "71", "22", "72", "23", "73", "24", "74", "25", "75"])
    return f"{code}{rng.choice(LETTERS)}{age} {rng.chars(LETTERS, 3)}", GBR_REGIONS[code][0], code, ""


def _usa(rng: Rng) -> Generated:
    state = rng.choice(_KEYS['USA_STATES'])
    if state == "CA":
        text = f"{rng.choice('123456789')}{rng.chars(LETTERS, 3)}{rng.chars(DIGITS, 3)}"
    else:
        text = f"{rng.chars(LETTERS, 3)}-{rng.chars(DIGITS, 4)}"
    return text, USA_STATES[state], state, f"US-{state}"


def _pol(rng: Rng) -> Generated:
    code = rng.choice(_KEYS['POL_REGIONS'])
    region, iso = POL_REGIONS[code]
    return f"{code} {rng.chars(DIGITS, 4)}{rng.choice(LETTERS)}", region, code, iso


def _ukr(rng: Rng) -> Generated:
    code = rng.choice(_KEYS['UKR_REGIONS'])
    region, iso = UKR_REGIONS[code]
    latin_cyrillic = "ABCEHIKMOPTX"  # letters that exist in both scripts, as on the plates
    return f"{code} {rng.chars(DIGITS, 4)} {rng.chars(latin_cyrillic, 2)}", region, code, iso


def _fra(rng: Rng) -> Generated:
    dept = rng.choice(_KEYS['FRA_DEPARTMENTS'])
    letters = _FRA_LETTERS
    return f"{rng.chars(letters, 2)}-{rng.chars(DIGITS, 3)}-{rng.chars(letters, 2)}", FRA_DEPARTMENTS[dept], dept, ""


def _swe(rng: Rng) -> Generated:
    letters = _SWE_LETTERS
    last = rng.choice(DIGITS + letters)
    return f"{rng.chars(letters, 3)} {rng.chars(DIGITS, 2)}{last}", "", "", ""


GENERATORS: dict[str, Callable[[Rng], Generated]] = {
    "CZE": _cze, "DEU": _deu, "GBR": _gbr, "USA": _usa,
    "POL": _pol, "UKR": _ukr, "FRA": _fra, "SWE": _swe,
}

# Plate shapes as width/height in pixels at the reference 1920-px-wide frame.
PLATE_SIZES = {"USA": (100.0, 50.0), "default": (140.0, 30.0)}


def plate_size(country: str, frame_width: int) -> tuple[float, float]:
    w, h = PLATE_SIZES.get(country, PLATE_SIZES["default"])
    scale = frame_width / 1920.0
    return (w * scale, h * scale)


def region_of(country: str, reported: str) -> tuple[str, str, str]:
    """(region, region code, ISO 3166-2) derived from a reported plate, '' when unknown."""
    if country == "CZE" and len(reported) >= 2 and reported[1] in CZE_REGIONS:
        region, iso = CZE_REGIONS[reported[1]]
        return region, reported[1], iso
    table = {"DEU": DEU_REGIONS, "POL": POL_REGIONS, "UKR": UKR_REGIONS}.get(country)
    if table:
        for n in (2, 1):
            code = reported[:n]
            if code in table:
                return table[code][0], code, table[code][1]
    if country == "GBR" and reported[:1] in GBR_REGIONS:
        return GBR_REGIONS[reported[0]][0], reported[0], ""
    return "", "", ""


# Characters OCR confuses, for generated misreads.
CONFUSABLE = {
    "0": "OD", "O": "0D", "D": "0O", "1": "I7", "I": "1L", "7": "1T", "8": "B3", "B": "83",
    "5": "S6", "S": "58", "2": "Z7", "Z": "27", "6": "G5", "G": "6C", "4": "A", "A": "4",
    "M": "N", "N": "MH", "H": "N", "E": "F", "F": "E", "K": "X", "X": "K", "U": "V", "V": "U",
    "3": "8", "9": "g", "C": "G", "P": "R", "R": "P",
}


def misread(text: str, rng: Rng) -> str:
    positions = [i for i, ch in enumerate(text) if ch in CONFUSABLE]
    if not positions:
        return text[:-1] if len(text) > 1 else text + "1"
    i = rng.choice(positions)
    return text[:i] + rng.choice(CONFUSABLE[text[i]]).upper() + text[i + 1 :]


def misread_kind(shares: Sequence[tuple[str, float]], draw: float) -> str:
    """The misread kind a draw in [0, 1) falls on, by the kinds' shares; '' when it reads right."""
    total = 0.0
    for kind, share in shares:
        total += share
        if draw < total:
            return kind
    return ""


def growing(text: str, rng: Rng, min_frames: int, max_frames: int) -> list[tuple[str, int, float]]:
    """The first reads of a plate whose text grows: (prefix, frames, confidence) of prefixes
    missing the last 2-4 characters, one character more each time.

    The frame counts never decrease, so that under "most frames, ties to the most
    recent" each prefix overtakes the one before it and is reported in turn; the
    confidences grow with the text.
    """
    missing = min(2 + rng.index(3), len(text) - 1)
    if missing < 1:
        return []
    span = max_frames - min_frames + 1
    frames = sorted([min_frames + rng.index(span) for _ in range(missing)])
    confidences = sorted([round(rng.uniform(0.4, 0.75), 4) for _ in range(missing)])
    end = len(text) - missing
    return [(text[: end + i], frames[i], confidences[i]) for i in range(missing)]


BRANDS: dict[str, list[tuple[str, list[str]]]] = {
    "CZE": [("Skoda", ["Octavia", "Fabia", "Superb", "Kodiaq", "Rapid/Scala"]), ("Hyundai", ["i30", "Tucson"]),
            ("Volkswagen", ["Golf", "Passat"]), ("Toyota", ["Corolla", "Yaris"]), ("Dacia", ["Duster"])],
    "DEU": [("Volkswagen", ["Golf", "Passat", "Tiguan", "Polo"]), ("BMW", ["3 Series", "5 Series", "X3"]),
            ("Mercedes-Benz", ["C-Class", "E-Class", "Sprinter"]), ("Audi", ["A4", "A6", "Q5"]), ("Opel", ["Astra", "Corsa"])],
    "GBR": [("Ford", ["Fiesta", "Focus", "Transit"]), ("Vauxhall", ["Corsa", "Astra"]), ("Nissan", ["Qashqai", "Juke"]),
            ("Kia", ["Sportage"]), ("Mini", ["Cooper"])],
    "USA": [("Ford", ["F-150", "Explorer", "Escape"]), ("Chevrolet", ["Silverado", "Equinox"]), ("Toyota", ["Camry", "RAV4"]),
            ("Honda", ["Civic", "CR-V"]), ("Tesla", ["Model 3", "Model Y"])],
    "POL": [("Toyota", ["Corolla", "Yaris"]), ("Skoda", ["Octavia", "Fabia"]), ("Opel", ["Astra"]), ("Kia", ["Ceed"])],
    "UKR": [("Toyota", ["Camry", "RAV4"]), ("Renault", ["Duster", "Logan"]), ("Skoda", ["Octavia"]), ("Daewoo", ["Lanos"])],
    "FRA": [("Renault", ["Clio", "Megane", "Captur"]), ("Peugeot", ["208", "308", "3008"]), ("Citroen", ["C3", "C4"])],
    "SWE": [("Volvo", ["XC60", "V60", "XC90"]), ("Volkswagen", ["Golf", "Passat"]), ("Tesla", ["Model Y"])],
}
TYPE_WEIGHTS = Weighted([("CAR", 0.78), ("SUV", 0.1), ("VAN", 0.06), ("TRUCK", 0.04), ("BUS", 0.02)])
COLOR_WEIGHTS = Weighted([("WHITE", 0.22), ("BLACK", 0.18), ("GRAY", 0.17), ("SILVER", 0.13), ("BLUE", 0.1), ("RED", 0.08),
                 ("GREEN", 0.03), ("BROWN", 0.03), ("BEIGE", 0.02), ("YELLOW", 0.02), ("ORANGE", 0.02)])


def ascii_fold(text: str) -> str:
    """'TÖLSL123' -> 'TOLSL123'; characters with no ASCII form become '_'."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    out = []
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        out.append(ch if ch.isascii() else "_")
    return "".join(out)
