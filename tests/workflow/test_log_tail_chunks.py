"""How a followed log is read in chunks (workflow/outputs.py): never a split UTF-8
character, the last MiB of a long log at first, nothing from a missing file."""

from __future__ import annotations

from pathlib import Path

from dagwire.server.workflow import outputs
from dagwire.server.workflow.outputs import _read_from, _whole_characters


def test_a_chunk_ending_inside_a_character_stops_before_it() -> None:
    euro = "€".encode()  # 3 bytes
    assert _whole_characters(b"ab" + euro) == 5
    assert _whole_characters(b"ab" + euro[:2]) == 2
    assert _whole_characters(b"ab" + euro[:1]) == 2
    assert _whole_characters(b"plain") == 5
    assert _whole_characters(b"") == 0


def test_a_chunk_is_read_from_its_offset(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_bytes(b"x" * 10 + "é".encode())
    assert _read_from(log, 4) == (b"xxxxxx" + "é".encode(), 12)
    assert _read_from(log, 12) == (b"", 12)
    assert _read_from(tmp_path / "missing", 0) == (b"", 0)


def test_a_long_log_starts_at_its_last_mebibyte(tmp_path: Path) -> None:
    log = tmp_path / "log"
    size = outputs.MAX_TAIL_START + 100
    log.write_bytes(b"y" * size)
    data, offset = _read_from(log, 0)
    assert len(data) == outputs.MAX_TAIL_CHUNK
    assert offset == size - outputs.MAX_TAIL_START + outputs.MAX_TAIL_CHUNK
