"""Real files through the real reader; a question answered only by one file, with the local LLM,
cites that file; `hearth index` killed with SIGKILL mid-run resumes where it stopped."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app.bootstrap import TEXT_EMBEDDER, make_language_model, make_text_embedder
from app.core.assistant import Assistant
from app.core.documents import DocumentError, Indexer
from app.core.events import AssistantEvent, EventType
from app.core.memory import Memory
from app.engines.document_reader import LocalDocumentReader
from app.settings import Settings
from app.store.chroma_memory import ChromaMemory
from app.store.history import SqliteConversationStore
from app.store.index_state import SqliteIndexState

from tests.conftest import hearth_env
from tests.documents import write_docx, write_pdf
from tests.engines.test_memory_real import registry_with

pytestmark = pytest.mark.model

READER = LocalDocumentReader()


def read(path: Path) -> str:
    """As the indexer hands a file over: its name and its bytes."""
    return READER.read(path.name, path.read_bytes())


def test_each_format_is_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Plain words.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Title\n\nSome *markdown*.", encoding="utf-8")
    (tmp_path / "c.html").write_text(
        "<html><head><style>p{}</style><script>var secret=1</script></head>"
        "<body><h1>Recipes</h1><p>Pancakes need two eggs &amp; milk.</p></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "latin.txt").write_bytes("Café crème".encode("latin-1"))
    write_pdf(tmp_path / "d.pdf", ["Invoice 2291", "Total due: 318.40 EUR"])
    write_docx(tmp_path / "e.docx", ["Minutes of the meeting", "Budget approved: 12,000."])
    assert read(tmp_path / "a.txt").strip() == "Plain words."
    assert "Some *markdown*." in read(tmp_path / "b.md")
    page = read(tmp_path / "c.html")
    assert "Pancakes need two eggs & milk." in page and "secret" not in page
    assert read(tmp_path / "latin.txt") == "Café crème"
    pdf = read(tmp_path / "d.pdf")
    assert "Invoice 2291" in pdf and "318.40" in pdf
    assert read(tmp_path / "e.docx") == "Minutes of the meeting\nBudget approved: 12,000."


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog", "not a readable PDF"),
        ("fake.docx", b"this is not a zip", "not a readable Word document"),
        ("empty.txt", b"   \n", "no text"),
        (
            "bomb.docx",
            None,
            "not a readable Word document",
        ),
    ],
)
def test_bad_files_are_plain_errors(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is None:  # an XML entity bomb inside a real zip
        import zipfile

        bomb = (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
        )
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("word/document.xml", bomb)
    else:
        path.write_bytes(content)
    with pytest.raises(DocumentError, match=message):
        read(path)


def test_answer_from_one_file_cites_that_file(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "garden.md").write_text(
        "# Garden\n\nThe tomatoes grow in the north bed and are watered every second day.",
        encoding="utf-8",
    )
    (folder / "recipes.txt").write_text(
        "Pancakes: two eggs, milk, flour. Fry in butter.", encoding="utf-8"
    )
    write_pdf(
        folder / "house.pdf",
        ["House notes", "The wifi password for the guest network is lantern-42."],
    )
    write_docx(folder / "work.docx", ["Quarterly planning", "The offsite is in Porto in May."])
    embedder = make_text_embedder(registry_with(TEXT_EMBEDDER), Settings())
    memory = Memory(embedder, ChromaMemory.open(tmp_path / "memory"))
    state = SqliteIndexState(tmp_path / "index.sqlite3")
    state.add_folder(str(folder))
    report = Indexer(READER, embedder, memory.store, state).run()
    assert len(report.indexed) == 4 and not report.failed

    settings = Settings(max_reply_tokens=48)
    llm = make_language_model(registry_with(settings.model), settings.model, settings)
    store = SqliteConversationStore(tmp_path / "history.sqlite3")
    assistant = Assistant(llm, store, settings.assistant_config(), memory)
    events: list[AssistantEvent] = []
    try:
        conversation = store.create_conversation().id
        result = assistant.turn(
            conversation, "What is the wifi password for the guest network?", events.append
        )
    finally:
        llm.close()
        store.close()
    assert "lantern-42" in result.reply, result.reply
    [cited] = [e for e in events if e.type is EventType.CITATIONS]
    sources = [c["path"] for c in cited.data["citations"] if c["kind"] == "document"]
    assert sources and all(s.endswith("house.pdf") for s in sources)


def indexed_files(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT COUNT(*) FROM files WHERE status = 'indexed'").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


def test_index_killed_mid_run_resumes_without_losing_or_duplicating(tmp_path: Path) -> None:
    registry_with(TEXT_EMBEDDER)
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(40):
        paragraphs = [f"Note {i}, paragraph {p}: the number is {i * 100 + p}." for p in range(30)]
        if i == 39:
            paragraphs.append("The lighthouse keeper's cat is called Marmalade.")
        (folder / f"note{i:02d}.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    env = hearth_env(tmp_path)
    data = Path(env["HEARTH_DATA_DIR"])
    command = [sys.executable, "-m", "app", "index", str(folder)]
    log = (tmp_path / "first-run.log").open("wb")
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 300
    while indexed_files(data / "index.sqlite3") < 3:
        assert child.poll() is None, (tmp_path / "first-run.log").read_text()
        assert time.monotonic() < deadline, "indexing did not start"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    log.close()
    done_before = indexed_files(data / "index.sqlite3")
    assert 3 <= done_before < 40

    again = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert again.returncode == 0, again.stderr
    assert f"{40 - done_before} file(s) indexed" in again.stdout or (
        f"{40 - done_before + 1} file(s) indexed" in again.stdout  # the one in hand is redone
    ), again.stdout
    assert indexed_files(data / "index.sqlite3") == 40

    recall = subprocess.run(
        [sys.executable, "-m", "app", "recall", "what is the lighthouse keeper's cat called?"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert recall.returncode == 0, recall.stderr
    assert recall.stdout.startswith("[1] file note39.txt"), recall.stdout
    assert "Marmalade" in recall.stdout

    # Opened here only now: chroma's embedded store is one process's at a time.
    store = ChromaMemory.open(data / "memory")
    with sqlite3.connect(data / "index.sqlite3") as conn:
        expected = conn.execute("SELECT SUM(chunks) FROM files").fetchone()[0]
    assert store.count("document") == expected  # nothing lost, nothing twice
