"""Folder indexing logic: chunks, incremental runs, deletions, bad files, cancel and resume."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from app.core.cancel import CancelToken
from app.core.documents import (
    DocumentError,
    Indexer,
    IndexProgress,
    PageProgress,
    chunk_id,
    chunk_text,
)
from app.store.index_state import SqliteIndexState

from tests.fakes import FakeTextEmbedder, ListMemoryStore


class PlainReader:
    """Reads files as UTF-8; any file named bad* is "corrupt"; a file named scan* is read
    "page by page" (one page per line), asking ``on_page`` before each."""

    def __init__(self) -> None:
        self.read_paths: list[str] = []
        self.versions: dict[str, int] = {}
        self.on_page: Callable[[int], None] = lambda _n: None

    def version(self, name: str) -> int:
        return self.versions.get(Path(name).suffix, 0)

    def read(
        self,
        name: str,
        data: bytes,
        *,
        progress: PageProgress | None = None,
        cancel: CancelToken | None = None,
    ) -> str:
        self.read_paths.append(name)
        if name.startswith("bad"):
            raise DocumentError(f"{name} is not a readable PDF (damaged or incomplete).")
        text = data.decode("utf-8")
        if name.startswith("scan"):
            lines = text.splitlines()
            for number in range(len(lines)):
                if progress is not None:
                    progress(number, len(lines))
                self.on_page(number)
                if cancel is not None and cancel.is_cancelled():
                    raise DocumentError(f"Reading {name} was stopped.")
        return text


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


# -- hostile folders (issue 9): nothing but regular files inside the folder is ever read --------


@pytest.mark.timeout(30)  # a FIFO once blocked open() for ever: a hang fails here
def test_pipes_sockets_and_links_out_of_the_folder_are_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    import socket

    rig = Rig(tmp_path)
    rig.write("a.txt", "The garden gate is green.")
    os.mkfifo(rig.folder / "notes.txt")
    (rig.folder / "zero.txt").symlink_to("/dev/zero")
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The safe combination is 1234.", encoding="utf-8")
    (rig.folder / "innocent.txt").symlink_to(secret)
    (rig.folder / "same.txt").symlink_to(rig.folder / "a.txt")  # inside: fine
    (rig.folder / "elsewhere").symlink_to(secret.parent, target_is_directory=True)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(rig.folder / "sock.md"))
    try:
        report = rig.indexer.run()
    finally:
        sock.close()
    assert sorted(Path(p).name for p in report.indexed) == ["a.txt", "same.txt"]
    reasons = {Path(p).name: m for p, m in report.failed}
    assert "named pipe" in reasons["notes.txt"]
    assert "outside the folder" in reasons["zero.txt"] and "/dev/zero" in reasons["zero.txt"]
    assert "outside the folder" in reasons["innocent.txt"]
    assert "socket" in reasons["sock.md"]
    assert "link to a folder" in reasons["elsewhere"]
    assert not any("1234" in r.text for r, _ in rig.store.records.values())
    assert sorted(rig.reader.read_paths) == ["a.txt", "same.txt"]
    again = rig.indexer.run()  # every rerun gets past them too
    assert again.unchanged == 2 and len(again.failed) == 5


@pytest.mark.timeout(30)
def test_a_file_swapped_for_a_pipe_after_listing_is_refused_without_blocking(
    tmp_path: Path,
) -> None:
    from app.core.files import FileRefusedError, read_regular_file

    fifo = tmp_path / "late.txt"
    os.mkfifo(fifo)
    with pytest.raises(FileRefusedError, match="named pipe"):
        read_regular_file(fifo, max_bytes=100)
    (tmp_path / "big.txt").write_bytes(b"x" * 101)
    with pytest.raises(FileRefusedError, match="up to"):
        read_regular_file(tmp_path / "big.txt", max_bytes=100)
    assert read_regular_file(tmp_path / "big.txt", max_bytes=101) == b"x" * 101


def test_a_file_that_became_a_link_out_of_the_folder_drops_out_of_memory(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    path = rig.write("plan.txt", "Plan A.")
    rig.indexer.run()
    outside = tmp_path / "other.txt"
    outside.write_text("Someone else's plan.", encoding="utf-8")
    path.unlink()
    path.symlink_to(outside)
    report = rig.indexer.run()
    assert [Path(p).name for p in report.removed] == ["plan.txt"]
    assert rig.store.records == {}


def long_text(paragraphs: int) -> str:
    return "\n\n".join(
        f"Paragraph {i} describes the weather on day {i} in some detail." for i in range(paragraphs)
    )


def test_a_long_file_waits_for_the_others_after_its_first_slice(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.indexer.slice_chunks = 4
    rig.indexer.batch_size = 2
    rig.write("a-big.txt", long_text(40))
    rig.write("b-small.txt", "The small file is about the cat.")
    rig.write("c-small.txt", "The other small file is about the dog.")
    report = rig.indexer.run()
    assert sorted(Path(p).name for p in report.indexed) == [
        "a-big.txt",
        "b-small.txt",
        "c-small.txt",
    ]
    embedded = [text for call in rig.embedder.calls for text in call]
    cat = embedded.index("The small file is about the cat.")
    dog = embedded.index("The other small file is about the dog.")
    big_before = [t for t in embedded[: max(cat, dog)] if "weather" in t]
    assert len(big_before) == 4  # only the first slice of the big file went first
    assert len(rig.chunks_of("a-big.txt")) == report.chunks - 2 > 4


def test_an_interrupted_long_file_continues_without_embedding_its_stored_part_again(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    rig.indexer.batch_size = 3
    rig.write("diary.txt", long_text(60))
    cancel = CancelToken()

    def progress(p: IndexProgress) -> None:
        if p.chunks_done >= 9:
            cancel.cancel()

    first = rig.indexer.run(cancel=cancel, progress=progress)
    assert first.cancelled and first.indexed == []
    stored = len(rig.chunks_of("diary.txt"))
    assert stored == 9
    rig.embedder.calls.clear()
    second = rig.indexer.run()
    total = len(rig.chunks_of("diary.txt"))
    again = [text for call in rig.embedder.calls for text in call]
    assert second.reused == 9 and second.embedded == total - 9 == len(again)
    assert second.chunks == total and "9 of them kept from an interrupted run" in second.summary()
    assert len(rig.store.records) == total  # nothing twice
    assert all("Paragraph 0 " not in t for t in again)


def test_a_changed_file_starts_again_from_its_first_chunk(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.indexer.batch_size = 3
    path = rig.write("diary.txt", long_text(60))
    cancel = CancelToken()

    def progress(p: IndexProgress) -> None:
        if p.chunks_done >= 9:
            cancel.cancel()

    rig.indexer.run(cancel=cancel, progress=progress)
    path.write_text(long_text(20).replace("weather", "tides"), encoding="utf-8")
    report = rig.indexer.run()
    assert report.reused == 0
    texts = rig.chunks_of("diary.txt")
    assert texts and all("tides" in t for t in texts)
    assert len(rig.store.records) == len(texts)  # the first version's chunks are all gone


def test_text_past_the_limit_is_left_out_and_the_user_told_where(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.indexer.max_text_chars = 1000
    rig.write("huge.txt", "\n".join(f"Line {i} says something." for i in range(200)))
    report = rig.indexer.run()
    [(path, note)] = report.notes
    assert path.endswith("huge.txt")
    assert "only its first" in note and "up to line" in note and "of 200" in note
    assert "cut short" in report.summary()
    stored = " ".join(rig.chunks_of("huge.txt"))
    assert "Line 10 says" in stored and "Line 150 says" not in stored


def test_a_file_that_could_not_be_opened_is_tried_again_on_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the user fixing a permission: the same size and mtime, readable the second time.

    (tests/e2e/test_hostile_cli.py does it for real with chmod; here the open fails once.)"""
    from app.core import documents, files

    rig = Rig(tmp_path)
    rig.write("locked.txt", "Behind a lock.")
    real = files.read_regular_file
    calls = {"n": 0}

    def denied_once(path: Path, **kwargs: object) -> bytes:
        calls["n"] += 1
        if calls["n"] == 1:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(documents, "read_regular_file", denied_once)
    first = rig.indexer.run()
    assert "Permission denied" in first.failed[0][1] and "tries again" in first.failed[0][1]
    second = rig.indexer.run()
    assert [Path(p).name for p in second.indexed] == ["locked.txt"] and not second.failed


def test_a_damaged_file_is_read_again_when_the_user_asks(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.write("bad.txt", "damaged")
    rig.indexer.run()
    rig.reader.read_paths.clear()
    rig.indexer.run()
    assert rig.reader.read_paths == []
    retried = rig.indexer.run(retry_failed=True)
    assert rig.reader.read_paths == ["bad.txt"] and len(retried.failed) == 1


def test_an_index_made_before_resumable_files_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "index.sqlite3"
    old = sqlite3.connect(db)
    old.executescript(
        """CREATE TABLE folders (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
        CREATE TABLE files (path TEXT PRIMARY KEY, folder TEXT NOT NULL, size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL, status TEXT NOT NULL,
            chunks INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL);
        INSERT INTO folders VALUES ('/f', 1);
        INSERT INTO files VALUES ('/f/a.txt', '/f', 1, 1, 'ab', 'indexed', 3, '', 1);
        INSERT INTO files VALUES ('/f/b.txt', '/f', 1, 1, '', 'failed', 0, 'Permission denied', 1);
        """
    )
    old.commit()
    old.close()
    state = SqliteIndexState(db)
    files = state.files("/f")
    assert files["/f/a.txt"].done == 3 and files["/f/a.txt"].stored_whole
    assert files["/f/b.txt"].status == "unreadable"  # tried again on the next run
    state.close()
    assert SqliteIndexState(db).files("/f") == files  # opening again changes nothing


def test_files_read_by_an_older_reader_are_read_once_more_by_the_new_one(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    rig.write("manual.pdf", "Thewordsrantogether.")
    rig.write("notes.txt", "Plain notes stay as they are.")
    rig.indexer.run()
    rig.reader.versions[".pdf"] = 1  # a better PDF reader came with an update
    rig.reader.read_paths.clear()
    seen: list[str] = []
    report = rig.indexer.run(progress=lambda p: seen.append(p.describe()))
    assert rig.reader.read_paths == ["manual.pdf"]  # the text file is not read again
    assert report.reread == 1 and "1 read again with the new PDF reader" in report.summary()
    assert any("read again with the new PDF reader" in line for line in seen)
    assert rig.indexer.run().reread == 0  # once only
    assert rig.reader.read_paths == ["manual.pdf"]


def test_a_file_indexed_before_readers_had_versions_is_read_again_after_migration(
    tmp_path: Path,
) -> None:
    import sqlite3

    rig = Rig(tmp_path)
    rig.write("manual.pdf", "Some text.")
    rig.indexer.run()
    rig.state.close()
    db = sqlite3.connect(tmp_path / "index.sqlite3")  # as version 1 left it: no reader column
    db.execute("ALTER TABLE files DROP COLUMN reader")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    rig.state = SqliteIndexState(tmp_path / "index.sqlite3")
    assert rig.state.files(str(rig.folder))[str(rig.folder / "manual.pdf")].reader == 0
    rig.reader.versions[".pdf"] = 1
    rig.indexer = Indexer(rig.reader, rig.embedder, rig.store, rig.state, max_chars=200)
    assert rig.indexer.run().reread == 1


def test_reading_a_scan_shows_its_pages_and_a_stop_keeps_the_file_for_the_next_run(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    rig.write("scan.pdf", "\n".join(f"Page {n} of the scanned letter." for n in range(1, 6)))
    cancel = CancelToken()
    rig.reader.on_page = lambda n: cancel.cancel() if n == 2 else None
    seen: list[str] = []
    report = rig.indexer.run(cancel=cancel, progress=lambda p: seen.append(p.describe()))
    assert any(line.endswith("scan.pdf reading scanned page 3 of 5") for line in seen)
    assert report.cancelled and not report.failed  # stopped, not broken
    assert rig.chunks_of("scan.pdf") == []
    rig.reader.on_page = lambda _n: None
    report = rig.indexer.run()
    assert report.indexed == [str(rig.folder / "scan.pdf")] and not report.failed
    assert any("Page 5 of the scanned letter." in c for c in rig.chunks_of("scan.pdf"))
