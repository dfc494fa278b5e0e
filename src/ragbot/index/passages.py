"""Passages on disk as JSON lines with a row-offset array: a row is read (pread) and parsed only when it is asked for."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import overload

import numpy as np

from ragbot.chunking import Passage
from ragbot.files import atomic_write


def write_passages(passages: Sequence[Passage], lines_path: Path, offsets_path: Path) -> None:
    """One JSON object per line, and the byte offset of every line (plus the end) as int64."""
    body = io.BytesIO()
    offsets = np.zeros(len(passages) + 1, dtype=np.int64)
    for i, p in enumerate(passages):
        body.write(json.dumps(p.to_dict(), ensure_ascii=False).encode("utf-8") + b"\n")
        offsets[i + 1] = body.tell()
    atomic_write(lines_path, body.getvalue())
    npy = io.BytesIO()
    np.save(npy, offsets, allow_pickle=False)
    atomic_write(offsets_path, npy.getvalue())


class PassageRows(Sequence[Passage]):
    """A read-only sequence of passages read by row (``_at``); equal to any sequence of the same passages in order."""

    def _at(self, row: int) -> Passage:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> Passage: ...
    @overload
    def __getitem__(self, i: slice) -> list[Passage]: ...
    def __getitem__(self, i: int | slice) -> Passage | list[Passage]:
        if isinstance(i, slice):
            return [self._at(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"passage row {i} out of range ({n} passages)")
        return self._at(int(i) % n)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]


class PassageStore(PassageRows):
    """A read-only sequence of passages over the files ``write_passages`` made; recently read rows are cached."""

    def __init__(self, lines_path: Path, offsets_path: Path) -> None:
        self._offsets = np.load(offsets_path, allow_pickle=False)
        self._file = lines_path.open("rb")
        size = os.fstat(self._file.fileno()).st_size
        if self._offsets.ndim != 1 or not len(self._offsets) or int(self._offsets[-1]) != size:
            self._file.close()
            raise ValueError(f"{offsets_path.name} does not match {lines_path.name}")
        self._row = lru_cache(maxsize=4096)(self._parse)

    def __del__(self) -> None:
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _at(self, row: int) -> Passage:
        return self._row(row)

    def __iter__(self) -> Iterator[Passage]:
        offsets = self._offsets.tolist()
        for a in range(0, len(self), 1024):  # in order: one read per 1,024 rows, not one per row
            b = min(a + 1024, len(self))
            block = os.pread(self._file.fileno(), offsets[b] - offsets[a], offsets[a])
            for i in range(a, b):
                yield Passage.from_dict(json.loads(block[offsets[i] - offsets[a] : offsets[i + 1] - offsets[a]]))

    def _parse(self, i: int) -> Passage:
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        return Passage.from_dict(json.loads(os.pread(self._file.fileno(), end - start, start)))


class ConcatPassages(PassageRows):
    """The passages of an index's segments read as one sequence, rows numbered across them in order."""

    def __init__(self, parts: Sequence[Sequence[Passage]]) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts]).astype(np.int64)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _at(self, row: int) -> Passage:
        part = int(np.searchsorted(self.offsets, row, side="right")) - 1
        return self.parts[part][row - int(self.offsets[part])]

    def __iter__(self) -> Iterator[Passage]:
        for part in self.parts:
            yield from part
