"""Folder indexing logic: chunks, incremental runs, deletions, bad files, cancel and resume."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from app.core.cancel import CancelToken
from app.core.documents import (
    DocumentError,
    Indexer,
    IndexProgress,
    chunk_id,
    chunk_text,
)
from app.store.index_state import SqliteIndexState

from tests.fakes import FakeTextEmbedder, ListMemoryStore


class PlainReader:
    """Reads files as UTF-8; any file named bad* is "corrupt"."""

    def __init__(self) -> None:
        self.read_paths: list[str] = []

    def read(self, path: Path) -> str:
        self.read_paths.append(path.name)
        if path.name.startswith("bad"):
            raise DocumentError(f"{path.name} is not a readable PDF (damaged or incomplete).")
        return path.read_text(encoding="utf-8")


def test_chunks_cover_the_text_within_the_size_with_overlap() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(300))
    chunks = chunk_text(text, max_chars=400, overlap=60)
    assert len(chunks) > 10
    assert all(len(c.text) <= 400 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for i in range(300):  # every sentence survives whole in some chunk
        assert any(f"Sentence number {i} is here." in c.text for c in chunks), i
    assert chunk_text("   \n\n ") == []
    assert chunk_text("short")[0].text == "short"


def test_paragraphs_are_preferred_boundaries() -> None:
    text = ("alpha " * 50).strip() + "\n\n" + ("beta " * 50).strip()
    first, second = chunk_text(text, max_chars=400, overlap=0)[:2]
    assert first.text.endswith("alpha") and second.text.startswith("beta")


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "docs"
        self.folder.mkdir()
        self.reader = PlainReader()
        self.embedder = FakeTextEmbedder()
        self.store = ListMemoryStore()
        self.state = SqliteIndexState(tmp_path / "index.sqlite3")
        self.indexer = Indexer(self.reader, self.embedder, self.store, self.state, max_chars=200)
        self.state.add_folder(str(self.folder))

    def write(self, name: str, text: str) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def chunks_of(self, name: str) -> list[str]:
        key = str(self.folder / name)
        return sorted(r.text for r, _ in self.store.records.values() if r.extra.get("path") == key)


def test_incremental_runs_read_only_what_changed(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.write("garden.md", "Tomatoes grow in the north bed. " * 20)
    rig.write("notes/house.txt", "The boiler code is 4411.")
    rig.write("image.png", "not a document")  # unsupported: ignored
    rig.write(".hidden.txt", "secret")  # hidden: ignored
    report = rig.indexer.run()
    assert sorted(Path(p).name for p in report.indexed) == ["garden.md", "house.txt"]
    assert report.chunks == len(rig.store.records) > 2
    assert rig.chunks_of("notes/house.txt") == ["The boiler code is 4411."]

    rig.reader.read_paths.clear()
    assert rig.indexer.run().indexed == []
    assert rig.reader.read_paths == []  # size and mtime unchanged: nothing read

    house = rig.folder / "notes/house.txt"
    os.utime(house, ns=(house.stat().st_atime_ns, house.stat().st_mtime_ns + 10**9))
    report = rig.indexer.run()  # touched, identical content: hashed, not re-embedded
    assert report.indexed == [] and report.unchanged == 2 and rig.reader.read_paths == []

    rig.write("notes/house.txt", "The boiler code is 5522 since March.")
    report = rig.indexer.run()
    assert [Path(p).name for p in report.indexed] == ["house.txt"]
    assert rig.reader.read_paths == ["house.txt"]
    assert rig.chunks_of("notes/house.txt") == ["The boiler code is 5522 since March."]


def test_shrinking_and_deleted_files_leave_nothing_behind(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.write("long.txt", "A long line of words about the sea. " * 40)
    rig.write("gone.txt", "This file will be deleted.")
    rig.indexer.run()
    many = len(rig.chunks_of("long.txt"))
    assert many > 3
    rig.write("long.txt", "Now short.")
    (rig.folder / "gone.txt").unlink()
    report = rig.indexer.run()
    assert [Path(p).name for p in report.removed] == ["gone.txt"]
    assert rig.chunks_of("long.txt") == ["Now short."]
    assert rig.chunks_of("gone.txt") == []
    assert set(rig.store.records) == {chunk_id(str(rig.folder / "long.txt"), 0)}


def test_a_bad_file_is_reported_and_skipped_not_fatal(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.write("bad.pdf", "%PDF-garbage")
    rig.write("good.txt", "Good content.")
    report = rig.indexer.run()
    assert [Path(p).name for p in report.indexed] == ["good.txt"]
    [(path, message)] = report.failed
    assert path.endswith("bad.pdf") and "not a readable PDF" in message
    rig.reader.read_paths.clear()
    again = rig.indexer.run()  # still broken, unchanged: reported, not read again
    assert len(again.failed) == 1 and rig.reader.read_paths == []
    assert "skipped" in again.summary()


def test_cancel_then_resume_finishes_the_rest(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    for i in range(6):
        rig.write(f"f{i}.txt", f"File number {i} talks about topic {i}. " * 10)
    cancel = CancelToken()
    seen: list[IndexProgress] = []

    def progress(p: IndexProgress) -> None:
        seen.append(p)
        if p.files_done == 2:
            cancel.cancel()

    first = rig.indexer.run(cancel=cancel, progress=progress)
    assert first.cancelled and len(first.indexed) == 2
    assert seen[-1].files_total == 6
    second = rig.indexer.run()
    assert len(second.indexed) == 4 and second.unchanged == 2
    assert all(rig.chunks_of(f"f{i}.txt") for i in range(6))


def test_pause_is_called_between_batches(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.write("a.txt", "Words about the garden. " * 80)
    pauses: list[int] = []
    rig.indexer.run(pause=lambda: pauses.append(1))
    assert len(pauses) >= 2


def test_removing_a_folder_forgets_its_chunks(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.write("a.txt", "Alpha.")
    rig.indexer.run()
    assert rig.indexer.remove_folder(str(rig.folder)) == 1
    assert rig.store.records == {} and rig.state.folders() == []


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.folder.rmdir()
    report = rig.indexer.run()
    assert "not there any more" in report.failed[0][1]


@pytest.mark.parametrize("name", ["x.TXT", "y.Md", "z.docx", "w.htm"])
def test_supported_names(tmp_path: Path, name: str) -> None:
    from app.core.documents import scan_folder

    (tmp_path / name).write_text("x")
    assert [p.name for p in scan_folder(tmp_path)] == [name]
