"""Compare the normalized text of two captures, paragraph by paragraph, word by word.

Paragraphs are aligned first (a rewritten paragraph stays one block rather than
a wall of red and green); changed paragraphs are then diffed word by word so a
reviewer sees the exact words that moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
_WORD = re.compile(r"\w+")


@dataclass
class Block:
    """One paragraph of the result: ``kind`` is equal, insert, delete or change.

    ``segments`` are (op, text) pairs with op in {"=", "+", "-"}.
    """

    kind: str
    segments: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TextDiff:
    blocks: list[Block]
    words_added: int
    words_removed: int

    @property
    def changed(self) -> bool:
        return any(b.kind != "equal" for b in self.blocks)


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _word_diff(old: str, new: str) -> tuple[list[tuple[str, str]], int, int]:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[tuple[str, str]] = []
    added = removed = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            gone = "".join(a[i1:i2])
            segments.append(("-", gone))
            removed += _words(gone)
        if j2 > j1:
            came = "".join(b[j1:j2])
            segments.append(("+", came))
            added += _words(came)
    return _group(segments), added, removed


def _group(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One deletion then one insertion per changed run. A single word left standing
    between two changes joins them, so an edited clause reads as one edit instead of
    alternating scraps ("~~at~~ would ... the ~~newest~~")."""
    out: list[tuple[str, str]] = []
    gone: list[str] = []
    came: list[str] = []

    def flush() -> None:
        if gone:
            out.append(("-", "".join(gone)))
        if came:
            out.append(("+", "".join(came)))
        gone.clear()
        came.clear()

    for i, (op, text) in enumerate(segments):
        between = 0 < i < len(segments) - 1 and segments[i + 1][0] != "="
        if op == "=" and (gone or came) and between and len(_WORD.findall(text)) <= 1:
            gone.append(text)
            came.append(text)
        elif op == "=":
            flush()
            out.append((op, text))
        else:
            (gone if op == "-" else came).append(text)
    flush()
    return out


def _similar(old: str, new: str) -> bool:
    """Worth a word diff: otherwise show the old paragraph out and the new one in."""
    ratio = SequenceMatcher(None, _WORD.findall(old.lower()), _WORD.findall(new.lower()),
                            autojunk=False).ratio()
    return ratio >= 0.4


def diff_texts(old: str, new: str) -> TextDiff:
    """Paragraph-aligned, word-level diff of two normalized article texts."""
    a, b = paragraphs(old), paragraphs(new)
    blocks: list[Block] = []
    added = removed = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            blocks += [Block("equal", [("=", p)]) for p in a[i1:i2]]
            continue
        olds, news = a[i1:i2], b[j1:j2]
        # pair rewritten paragraphs one to one; the surplus is plain insert/delete
        for k in range(max(len(olds), len(news))):
            if k < len(olds) and k < len(news) and _similar(olds[k], news[k]):
                segments, plus, minus = _word_diff(olds[k], news[k])
                blocks.append(Block("change", segments))
                added, removed = added + plus, removed + minus
                continue
            if k < len(olds):
                blocks.append(Block("delete", [("-", olds[k])]))
                removed += _words(olds[k])
            if k < len(news):
                blocks.append(Block("insert", [("+", news[k])]))
                added += _words(news[k])
    return TextDiff(blocks, added, removed)
