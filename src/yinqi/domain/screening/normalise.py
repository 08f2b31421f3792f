"""Name normalisation for sanctions screening: any script, any spelling trick, to comparable tokens.

Guarantees: `normalise_name` never raises on any `str`, is idempotent on its own output (joining the
tokens with spaces and normalising again gives the same tokens), and returns only `[a-z0-9]` tokens.
Steps, in order: invisible characters (format controls, zero-width, variation selectors) removed;
look-alike Cyrillic/Greek letters mapped to Latin when the name also holds Latin letters (a mixed
script is an evasion, not a transliteration); Chinese legal forms dropped and Han characters turned
into pinyin; every other script transliterated (anyascii); NFKD, diacritics dropped, case folded;
digits inside words read as the letters OCR confuses them with; apostrophes and dots joined, other
punctuation split. Legal forms, titles and particles are *weak* tokens: kept for reasons, worth
little in a score. Token order is not meaningful: `strong` is sorted.

>>> normalise_name("Müller-Sánchez, JOSÉ").strong
('jose', 'muller', 'sanchez')
>>> normalise_name("GOMEZ МARIN LTDA.").tokens, normalise_name("GOMEZ МARIN LTDA.").homoglyphs
(('gomez', 'marin', 'ltda'), 1)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from anyascii import anyascii
from pypinyin import lazy_pinyin

# Cyrillic and Greek letters that render like Latin ones (Unicode confusables, the common subset).
_HOMOGLYPHS = str.maketrans({
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ё": "e", "ї": "i", "һ": "h", "ү": "y",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ν": "v", "ι": "i", "α": "a",
    "κ": "k", "ρ": "p", "υ": "u", "ϲ": "c", "ϳ": "j",
})
_HOMOGLYPH_SOURCES = frozenset(chr(k) for k in _HOMOGLYPHS)
# Default-ignorable code points that are not category Cf (which is removed wholesale).
_INVISIBLE_EXTRA = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0") | frozenset(
    chr(c) for c in range(0xFE00, 0xFE10))
_OCR_DIGITS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"})
_CHINESE_LEGAL = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[A-Za-z]")
_JOINERS = re.compile(r"[\'\u2019\u02bc`´.]")
_SPLIT = re.compile(r"[^a-z0-9]+")
_MIXED_DIGITS = re.compile(r"(?=[a-z0-9]*[a-z])[a-z0-9]*[0-9][a-z0-9]*")

LEGAL_FORMS = frozenset("""
llc ltd ltda limited inc incorporated corp corporation co company cia compania ooo zao oao pao ao
ojsc jsc pjsc cjsc gmbh mbh ag kg sa sas sarl srl spa sl bv nv plc lp llp pte pvt pty kft sro ab oy
fze fzco fzc fz est sal saog wll bsc psc eu cv scs sc en sapi sab ep tov pp ip youxiangongsi
""".split())  # noqa: SIM905 (a word list reads better as text)
TITLES = frozenset("""
mr mrs ms miss mister dr doctor prof sir sheikh shaikh shaykh sheik sayyid sayed sayyed hajji haji
hadji eng gen col maj capt lt brig mullah imam general colonel major captain
""".split())  # noqa: SIM905 (a word list reads better as text)
PARTICLES = frozenset("""
al el bin ibn bint de del della der den di da das do dos du la le van von y e and of the und
""".split())  # noqa: SIM905 (a word list reads better as text)
WEAK_WORDS = LEGAL_FORMS | TITLES | PARTICLES


@dataclass(frozen=True, slots=True)
class NormalisedName:
    """A name reduced to tokens; `strong` (sorted) carries identity, `weak` does not."""

    original: str
    tokens: tuple[str, ...]
    strong: tuple[str, ...]
    weak: tuple[str, ...]
    invisible: int = 0
    homoglyphs: int = 0
    transliterated: bool = False

    @property
    def key(self) -> str:
        """Order-free comparison key: the strong tokens, sorted, joined without spaces."""
        return "".join(self.strong)


def strip_invisible(text: str) -> tuple[str, int]:
    """Drop format characters (zero-width, joiners, bidi marks, soft hyphen); controls become spaces."""
    kept: list[str] = []
    dropped = 0
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cf" or ch in _INVISIBLE_EXTRA:
            dropped += 1
        else:
            kept.append(" " if cat in ("Cc", "Zl", "Zp") else ch)
    return "".join(kept), dropped


def map_homoglyphs(text: str) -> tuple[str, int]:
    """Map Cyrillic/Greek look-alikes to Latin, only when the text also holds Latin letters."""
    if not _LATIN.search(text):
        return text, 0
    count = sum(1 for ch in text if ch in _HOMOGLYPH_SOURCES)
    return (text.translate(_HOMOGLYPHS), count) if count else (text, 0)


def _pinyin_run(match: re.Match[str]) -> str:
    syllables = lazy_pinyin(match.group(0))
    if len(syllables) in (2, 3):  # a personal name: surname, then the given name as one word
        return f" {syllables[0]} {''.join(syllables[1:])} "
    return " " + " ".join(syllables) + " "


def transliterate(text: str) -> str:
    """Chinese to pinyin (legal forms dropped), every other script to ASCII letters."""
    if _HAN.search(text):
        for form in _CHINESE_LEGAL:
            text = text.replace(form, " ")
        text = _HAN.sub(_pinyin_run, text)
    return text if text.isascii() else anyascii(text)


def fold(text: str) -> str:
    """Case-fold, drop diacritics, join apostrophes and dots, split on any other punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _JOINERS.sub("", bare)


def _ocr_fix(token: str) -> str:
    return token.translate(_OCR_DIGITS) if _MIXED_DIGITS.fullmatch(token) and not token.isdigit() else token


def tokenise(text: str) -> tuple[str, ...]:
    """Split folded text into `[a-z0-9]+` tokens, reading digits inside words as letters."""
    return tuple(_ocr_fix(t) for t in _SPLIT.split(text) if t)


def is_weak(token: str) -> bool:
    """Legal forms, titles, particles and single letters say little about who a party is."""
    return token in WEAK_WORDS or len(token) == 1


def normalise_name(text: str) -> NormalisedName:
    """Normalise one name. Never raises; an empty or symbol-only name gives no tokens."""
    visible, invisible = strip_invisible(text)
    latin, homoglyphs = map_homoglyphs(visible)
    ascii_text = transliterate(latin)
    tokens = tokenise(fold(ascii_text))
    strong = tuple(sorted(t for t in tokens if not is_weak(t)))
    weak = tuple(t for t in tokens if is_weak(t))
    return NormalisedName(original=text, tokens=tokens, strong=strong, weak=weak, invisible=invisible,
                          homoglyphs=homoglyphs, transliterated=not latin.isascii())


def skeleton(token: str) -> str:
    """Consonant skeleton with repeats collapsed: 'mohammed' → 'mhmd' (vowel drops, Arabic script)."""
    out: list[str] = []
    for ch in token:
        if ch not in "aeiouy" and (not out or out[-1] != ch):
            out.append(ch)
    return "".join(out) if len(token) > 1 else token
