"""Row arrays on disk as .npy files, written in blocks and read a few rows at a time with pread.

Reading with ``os.pread`` rather than a memory map keeps the process's resident memory what it
really holds: a memory-mapped file that questions touch at random grows RSS by every page the
kernel maps around each read (fault-around maps neighbouring cached pages, whatever ``madvise``
says), until a 10^6-passage library's sentence vectors showed as gigabytes of RSS. The pages still
sit in the kernel's page cache, which it reclaims as it needs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import overload

import numpy as np

BLOCK_ROWS = 262_144


class RowArray:
    """Rows read on demand through ``rows(start, stop)``; indexing and slicing return ordinary arrays."""

    shape: tuple[int, ...]

    def rows(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.shape[0]

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, i: slice) -> np.ndarray: ...
    def __getitem__(self, i: int | slice) -> np.ndarray:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            return self.rows(start, max(start, stop)) if step == 1 else self.rows(0, len(self))[i]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"row {i} out of range ({n} rows)")
        return self.rows(i % n, i % n + 1)[0]


class NpyFile(RowArray):
    """The rows of a 2-D (or 1-D) .npy file, read on demand; slicing returns an ordinary array."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("rb")
        try:
            version = np.lib.format.read_magic(self._file)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"npy format {version}")
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(self._file)
        except Exception:
            self._file.close()
            raise
        if fortran or not shape:
            self._file.close()
            raise ValueError(f"{path.name} is not a C-ordered array of rows")
        self.shape: tuple[int, ...] = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._offset = self._file.tell()
        self._row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        expected = self._offset + self.shape[0] * self._row_bytes
        size = os.fstat(self._file.fileno()).st_size
        if size != expected:
            self._file.close()
            raise ValueError(f"{path.name} is {size} bytes, its header says {expected}")

    def __del__(self) -> None:
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start:stop (clipped to the file) in one read."""
        start, stop = max(0, int(start)), min(len(self), int(stop))
        count = max(0, stop - start)
        data = os.pread(self._file.fileno(), count * self._row_bytes, self._offset + start * self._row_bytes) if count else b""
        return np.frombuffer(data, dtype=self.dtype).reshape((count, *self.shape[1:]))

    def ranges(self, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
        """The rows of every range starts[i]:stops[i], one after another (one read per range)."""
        parts = [self.rows(a, b) for a, b in zip(starts.tolist(), stops.tolist(), strict=True)]
        return np.concatenate(parts) if parts else np.zeros((0, *self.shape[1:]), self.dtype)


class ConcatRows(RowArray):
    """Row arrays (in memory or on disk, one per index segment) read as one, rows numbered across them in order."""

    def __init__(self, parts: Sequence[np.ndarray | NpyFile]) -> None:
        if not parts:
            raise ValueError("ConcatRows needs at least one part")
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts]).astype(np.int64)
        self.shape: tuple[int, ...] = (int(self.offsets[-1]), *self.parts[0].shape[1:])
        self.dtype = np.dtype(self.parts[0].dtype)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start:stop, across parts if need be."""
        parts = []
        for part, first, end in zip(self.parts, self.offsets[:-1].tolist(), self.offsets[1:].tolist(), strict=True):
            a, b = max(start, first), min(stop, end)
            if a < b:
                parts.append(np.asarray(part[a - first : b - first]))
        return np.concatenate(parts) if parts else np.zeros((0, *self.shape[1:]), self.dtype)

    def ranges(self, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
        """The rows of every range starts[i]:stops[i], one after another; a range lies within one part (a segment's rows)."""
        starts, stops = np.asarray(starts, np.int64), np.asarray(stops, np.int64)
        part_of = np.searchsorted(self.offsets, starts, side="right") - 1
        if len(starts) and (part_of == part_of[0]).all():  # the common case: every range in one segment
            offset = int(self.offsets[part_of[0]])
            return ranges_of(self.parts[int(part_of[0])], starts - offset, stops - offset)
        ends = np.cumsum(stops - starts)
        out = np.zeros((int(ends[-1]) if len(ends) else 0, *self.shape[1:]), self.dtype)
        for p in np.unique(part_of).tolist():
            mine = part_of == p
            offset = int(self.offsets[p])
            out[flat_ranges(ends[mine] - (stops - starts)[mine], ends[mine])] = ranges_of(
                self.parts[p], starts[mine] - offset, stops[mine] - offset
            )
        return out


def ranges_of(array: np.ndarray | NpyFile | ConcatRows, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The rows of every range starts[i]:stops[i] of an array in memory or on disk, one after another."""
    if isinstance(array, NpyFile | ConcatRows):
        return array.ranges(starts, stops)
    return array[flat_ranges(starts, stops)] if len(starts) else array[:0]


def concat_starts(starts: Sequence[np.ndarray]) -> np.ndarray:
    """Range-start arrays of consecutive parts (each 0 ... its total) as one: each part's shifted by the totals before it."""
    offsets = np.cumsum([0] + [int(s[-1]) for s in starts])
    return np.concatenate([s[:-1] + o for s, o in zip(starts, offsets[:-1], strict=True)] + [offsets[-1:]]).astype(np.int64)


def flat_ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Every index of the ranges starts[i]:stops[i], one range after another."""
    counts = np.asarray(stops, np.int64) - np.asarray(starts, np.int64)
    before = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return np.repeat(np.asarray(starts, np.int64) - before, counts) + np.arange(int(counts.sum()), dtype=np.int64)


def write_npy(path: Path, *parts: np.ndarray | NpyFile) -> None:
    """The parts' rows, one after another, as one .npy file, copied in blocks (a part may be larger than memory)."""
    shape = (sum(len(p) for p in parts), *parts[0].shape[1:])
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=parts[0].dtype, shape=shape)
        row = 0
        for part in parts:
            for start in range(0, len(part), BLOCK_ROWS):
                block = part[start : start + BLOCK_ROWS]
                out[row : row + len(block)] = block
                row += len(block)
        out.flush()
        del out
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
