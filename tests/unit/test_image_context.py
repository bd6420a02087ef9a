"""What a turn learns from attached images, and how it is kept (fakes for OCR and CLIP)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.core.assistant import Assistant, AssistantConfig
from app.core.cancel import CancelToken
from app.core.errors import AssistantError
from app.core.events import AssistantEvent
from app.core.images import (
    PreparedImage,
    find_images,
    read_attachments,
    remember_images,
    stored_images,
)
from app.core.ports import ImageEmbedder, ImageHit, OcrResult
from app.store.image_files import ImageFiles

from tests.fakes import FakeImageEmbedder, FakeLanguageModel, FakeOcr, MemoryConversationStore


def image(name: str, png: bytes = b"\x89PNG fake pixels") -> PreparedImage:
    return PreparedImage(name, png, 10, 10, "PNG", 10, 10)


class ListImageMemory:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, list[float], str, str]] = []

    def add_image(
        self,
        space: str,
        key: str,
        embedding: Sequence[float],
        *,
        name: str,
        conversation_id: str,
        text: str = "",
        looks_like: Sequence[str] = (),
    ) -> None:
        self.rows.append((space, key, list(embedding), name, conversation_id))

    def search_images(
        self, space: str, embedding: Sequence[float], limit: int = 5
    ) -> list[ImageHit]:
        def score(row: tuple[str, str, list[float], str, str]) -> float:
            return sum(a * b for a, b in zip(row[2], embedding, strict=True))

        rows = sorted((r for r in self.rows if r[0] == space), key=score, reverse=True)
        return [ImageHit(r[1], r[3], r[4], 0.0, score(r)) for r in rows[:limit]]

    def forget_conversation(self, conversation_id: str) -> None:
        self.rows = [r for r in self.rows if r[4] != conversation_id]


def test_fake_embedder_implements_the_protocol() -> None:
    assert isinstance(FakeImageEmbedder(), ImageEmbedder)


def test_tags_above_the_threshold_reach_the_context(tmp_path: Path) -> None:
    progress: list[tuple[int, int, str]] = []
    archive = ImageFiles(tmp_path / "images")
    attachments = read_attachments(
        [image("a.png"), image("b.png", b"\x89PNG other")],
        FakeOcr("TOTAL 13.60"),
        CancelToken(),
        embedder=FakeImageEmbedder(),
        archive=archive,
        on_progress=lambda i, n, name: progress.append((i, n, name)),
    )
    assert progress == [(0, 2, "a.png"), (1, 2, "b.png")]
    first = attachments[0]
    assert first.looks_like == ("a receipt", "text")  # "a map" at 0.05 is left out
    assert "The image looks like: a receipt, text." in first.context()
    assert "TOTAL 13.60" in first.context()
    assert len(first.embedding) == 3
    assert archive.load(first.file) == b"\x89PNG fake pixels"
    assert attachments[1].file != first.file


def test_without_an_image_model_there_are_no_tags() -> None:
    [only] = read_attachments([image("a.png")], FakeOcr(), CancelToken())
    assert only.looks_like == () and only.embedding == ()
    assert "looks like" not in only.context()


def test_a_broken_image_model_costs_only_the_tags() -> None:
    problems: list[AssistantError] = []
    embedder = FakeImageEmbedder(broken=True)
    attachments = read_attachments(
        [image("a.png"), image("b.png")],
        FakeOcr("hello"),
        CancelToken(),
        embedder=embedder,
        on_problem=problems.append,
    )
    assert [a.text for a in attachments] == ["hello", "hello"]
    assert all(a.looks_like == () for a in attachments)
    assert len(problems) == 1 and problems[0].code == "model-corrupt"


def test_cancel_stops_reading_more_images() -> None:
    cancel = CancelToken()
    ocr = FakeOcr()
    attachments = read_attachments(
        [image("a.png"), image("b.png")],
        ocr,
        cancel,
        on_progress=lambda i, _n, _name: cancel.cancel() if i == 0 else None,
    )
    assert len(attachments) == 1


def test_the_turn_stores_what_each_image_showed(tmp_path: Path) -> None:
    store = MemoryConversationStore()
    conv = store.create_conversation()
    attachments = read_attachments(
        [image("receipt.png")],
        FakeOcr("TOTAL 13.60"),
        CancelToken(),
        embedder=FakeImageEmbedder(),
        archive=ImageFiles(tmp_path),
    )
    llm = FakeLanguageModel()
    events: list[AssistantEvent] = []
    Assistant(llm, store, AssistantConfig()).turn(
        conv.id, "what is the total?", events.append, attachments=attachments
    )
    [user, _reply] = store.messages(conv.id)
    [kept] = stored_images(user.meta)
    assert kept.name == "receipt.png" and kept.text == "TOTAL 13.60"
    assert kept.looks_like == ("a receipt", "text") and kept.file == attachments[0].file
    assert "TOTAL 13.60" in llm.prompts[-1][-1].content  # the model saw the image's text


def test_stored_images_tolerates_damaged_metadata() -> None:
    assert stored_images({}) == []
    assert stored_images({"images": "nonsense"}) == []
    [one] = stored_images({"images": [{"name": "x.png"}, 7]})
    assert one.name == "x.png" and one.file == "" and one.looks_like == ()


def test_images_are_remembered_and_found_by_description() -> None:
    embedder = FakeImageEmbedder()
    memory = ListImageMemory()
    attachments = read_attachments(
        [image("a.png", b"\x89PNGa"), image("b.png", b"\x89PNG bbbbbbbbbbbbbbbbbbbbbb")],
        None,
        CancelToken(),
        embedder=embedder,
        archive=None,
    )
    assert remember_images(attachments, "c1", embedder, memory) == 0  # nothing kept on disk
    attachments = [
        type(a)(a.name, a.text, a.looks_like, f"key-{a.name}", a.embedding) for a in attachments
    ]
    assert remember_images(attachments, "c1", embedder, memory) == 2
    hits = find_images("a photo", embedder, memory, limit=1)
    assert len(hits) == 1 and hits[0].conversation_id == "c1"


def test_image_files_are_content_addressed_and_pruned(tmp_path: Path) -> None:
    files = ImageFiles(tmp_path)
    a = files.save(b"one")
    assert files.save(b"one") == a
    b = files.save(b"two")
    assert files.keys() == {a, b}
    assert files.prune({b}) == [a]
    assert files.load(a) is None and files.load(b) == b"two"
    assert files.load("../../etc/passwd") is None


class UnreadableOcr(FakeOcr):
    """As RapidOCR on a 20000 x 1 image: its resize step raises."""

    def read(self, png: bytes, *, cancel: CancelToken) -> OcrResult:
        if png.startswith(b"wide"):
            raise AssistantError("Reading the text in the image failed.", code="ocr")
        return super().read(png, cancel=cancel)


def test_an_image_the_ocr_cannot_read_still_lets_the_question_be_answered() -> None:
    problems: list[AssistantError] = []
    wide = PreparedImage("wide.png", b"wide-png", 2048, 1, "PNG", 20000, 1)
    attachments = read_attachments(
        [wide, image("b.png")], UnreadableOcr("hello"), CancelToken(), on_problem=problems.append
    )
    assert [a.unread for a in attachments] == [True, False]
    assert "could not be read" in attachments[0].context()
    assert "No text was found" not in attachments[0].context()  # unknown, not absent
    assert attachments[1].text == "hello"
    [problem] = problems
    assert "wide.png" in problem.message and "answers without it" in problem.message
