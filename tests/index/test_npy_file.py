from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ragbot.index.npy_file import ConcatRows, NpyFile, concat_starts, flat_ranges, ranges_of, write_npy


def test_rows_read_back_as_written_across_parts(tmp_path: Path):
    a = np.arange(30, dtype=np.float32).reshape(10, 3)
    b = -np.arange(6, dtype=np.float32).reshape(2, 3)
    write_npy(tmp_path / "x.npy", a, b)
    both = np.concatenate([a, b])
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), both)
    f = NpyFile(tmp_path / "x.npy")
    assert len(f) == 12 and f.shape == (12, 3) and f.dtype == np.float32
    np.testing.assert_array_equal(f[3:7], both[3:7])
    np.testing.assert_array_equal(f[-1], both[-1])
    np.testing.assert_array_equal(f[10:99], both[10:])
    assert f[5:5].shape == (0, 3)
    with pytest.raises(IndexError):
        f[12]
    starts, stops = np.array([0, 4, 11]), np.array([2, 4, 12])
    np.testing.assert_array_equal(f.ranges(starts, stops), both[[0, 1, 11]])
    np.testing.assert_array_equal(ranges_of(both, starts, stops), both[[0, 1, 11]])
    np.testing.assert_array_equal(flat_ranges(starts, stops), [0, 1, 11])


def test_a_truncated_file_is_refused(tmp_path: Path):
    write_npy(tmp_path / "x.npy", np.ones((100, 4), np.float32))
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(data[:-16])
    with pytest.raises(ValueError, match="header says"):
        NpyFile(tmp_path / "x.npy")


def test_concatenated_parts_read_as_one_array_in_any_range_order(tmp_path: Path):
    whole = np.arange(40, dtype=np.float32).reshape(20, 2)
    write_npy(tmp_path / "b.npy", whole[8:])
    rows = ConcatRows([whole[:8], NpyFile(tmp_path / "b.npy")])  # a segment in memory, one on disk
    assert len(rows) == 20 and rows.shape == (20, 2)
    np.testing.assert_array_equal(rows[5:12], whole[5:12])
    np.testing.assert_array_equal(rows[-1], whole[-1])
    starts, stops = np.array([15, 2, 8, 0, 19]), np.array([17, 5, 8, 1, 20])  # ranges within one part each, mixed order
    np.testing.assert_array_equal(ranges_of(rows, starts, stops), whole[flat_ranges(starts, stops)])
    assert concat_starts([np.array([0, 2, 5]), np.array([0, 1])]).tolist() == [0, 2, 5, 6]
