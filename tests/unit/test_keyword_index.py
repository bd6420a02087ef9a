"""Keyword search beside the vector store: SQLite FTS5 (BM25), kept in step with chroma."""

from __future__ import annotations

from pathlib import Path

from app.core.memory import Memory
from app.core.ports import MemoryRecord
from app.store.chroma_memory import ChromaMemory
from app.store.keyword_index import KeywordIndex, match_expression

from tests.fakes import FakeTextEmbedder


def passage(id_: str, text: str) -> MemoryRecord:
    return MemoryRecord(id_, "document", text, "/docs/zlib-FAQ.txt", "zlib-FAQ.txt")


FAQ = [
    passage("p1", "zlib is written in C and is portable to most platforms."),
    passage("p2", "If you modify zlib, set ZLIB_VERNUM to 0x123f, an odd value."),
    passage("p3", "The Delphi interface lives in contrib/delphi, the Java one in java.util.zip."),
    passage("p4", "Compression levels run from 0 to 9; zlib is used by many programs."),
]


def test_match_expression_keeps_the_telling_words_and_terms_whole() -> None:
    expression = match_expression("According to the zlib FAQ, what is ZLIB_VERNUM for 1.2.3.4?")
    assert '"zlib"' in expression and '"ZLIB VERNUM"' in expression
    assert '"1 2 3 4"' in expression and '"the"' not in expression
    assert match_expression("what is it?") == ""
    assert match_expression('he said "hi" AND OR NOT (*)') == ""  # nothing FTS5 could misread


def test_the_rare_exact_word_ranks_its_passage_first(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "keywords.sqlite3")
    index.upsert("document", [(r.id, r.text) for r in FAQ])
    assert [i for i, _ in index.search("document", "what should ZLIB_VERNUM be?", 4)] == ["p2"]
    assert index.search("document", "where is the Delphi interface?", 1)[0][0] == "p3"
    assert index.search("fact", "Delphi", 4) == []  # kinds are apart
    index.delete("document", ["p3"])
    assert index.search("document", "Delphi", 4) == []
    index.upsert("document", [("p2", "replaced text about gzip")])
    assert index.count("document") == 3
    assert index.search("document", "ZLIB_VERNUM", 4) == []
    index.close()
    reopened = KeywordIndex(tmp_path / "keywords.sqlite3")
    assert reopened.count("document") == 3  # on disk


def test_chroma_and_the_keyword_index_stay_in_step(tmp_path: Path) -> None:
    """Written together, deleted together, rebuilt when they differ (a store made before the
    index existed, or a kill between the two writes)."""
    embedder = FakeTextEmbedder()
    store = ChromaMemory.open(tmp_path / "memory")
    memory = Memory(embedder, store)
    store.upsert(FAQ, embedder.embed([r.text for r in FAQ]))
    [vector] = embedder.embed(["what should ZLIB_VERNUM be?"])
    hits = store.keyword_search("document", "what should ZLIB_VERNUM be?", vector, 4)
    assert [h.record.id for h in hits] == ["p2"]
    assert 0.0 < hits[0].score <= 1.0  # scored by meaning, like search()
    store.delete_where("document", "path", "/nowhere")  # nothing matches: nothing goes
    assert store.keywords is not None and store.keywords.count("document") == 4
    store.delete("document", ["p2"])
    assert store.keyword_search("document", "ZLIB_VERNUM", vector, 4) == []

    store.keywords.clear("document")  # as if killed between the two writes
    store.close()
    reopened = ChromaMemory.open(tmp_path / "memory")
    found = reopened.keyword_search("document", "Delphi interface", vector, 4)
    assert [h.record.id for h in found] == ["p3"]  # rebuilt from chroma on first use
    reopened.clear()
    assert reopened.keywords is not None and reopened.keywords.count("document") == 0
    reopened.close()
    assert memory.store is store


def test_recall_fuses_meaning_and_words() -> None:
    """A passage found only by its exact word still reaches the prompt."""
    from tests.fakes import ListMemoryStore

    memory = Memory(FakeTextEmbedder(), ListMemoryStore())
    memory.store.upsert(FAQ, memory.embedder.embed([r.text for r in FAQ]))
    recalled = memory.recall(
        "According to the zlib FAQ, what do I set ZLIB_VERNUM to?",
        count_tokens=lambda t: len(t.split()),
    )
    assert recalled.hits and recalled.hits[0].record.id == "p2"


def test_a_name_is_mentioned_only_where_it_is_a_word(tmp_path: Path) -> None:
    """Which records hold a name ("Wi-Fi", "ZLIB_VERNUM"): by the index's words, so a name
    inside another word does not count and a plural does."""
    embedder = FakeTextEmbedder()
    store = ChromaMemory.open(tmp_path / "memory")
    memory = Memory(embedder, store)
    notes = [
        *FAQ,
        MemoryRecord("t1", "turn", "User: what is the Wi-Fi password?", "conversation:c1"),
        MemoryRecord("t2", "turn", "User: I bought two Brother printers.", "conversation:c2"),
    ]
    for kind in ("document", "turn"):
        part = [r for r in notes if r.kind == kind]
        store.upsert(part, embedder.embed([r.text for r in part]))
    assert memory.mentions("ZLIB_VERNUM") and memory.mentions("Delphi")
    assert memory.mentions("Brother")  # said by the user, and "printers" is "printer"
    assert memory.mentions("Wi-Fi") is False  # only ever asked about, never told
    assert memory.mentions("Del") is False and memory.mentions("Flatpak") is False
    found = store.mentioning("Delphi", 5)
    assert found is not None and [(r.id, r.kind) for r in found] == [("p3", "document")]
    store.close()
