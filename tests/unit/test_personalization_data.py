"""What an adapter learns from: examples from conversations, edits, ratings and JSONL files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from app.personalization import dataset, style
from app.personalization.adapters import AdapterStore
from app.personalization.dataset import Example, Exclusions
from app.personalization.job import JobConfig, Report, verdict
from app.personalization.service import Personalization
from app.personalization.worker import Job, Row, StepPlan, micro_batches, step_examples
from app.store.history import SqliteConversationStore

from tests.fakes import FakeLanguageModel

STYLE_FILE = Path(__file__).parents[1] / "data" / "style_examples.jsonl"


def chat(
    store: SqliteConversationStore, title: str, turns: list[tuple[str, str, dict[str, object]]]
) -> list[int]:
    conversation = store.create_conversation(title)
    ids = []
    for question, reply, meta in turns:
        store.add_message(conversation.id, "user", question)
        ids.append(store.add_message(conversation.id, "assistant", reply, meta).id)
    return ids


@pytest.fixture
def store(tmp_path: Path) -> SqliteConversationStore:
    return SqliteConversationStore(tmp_path / "history.sqlite3")


def test_kept_edited_and_rated_replies_become_examples_and_the_rest_do_not(
    store: SqliteConversationStore,
) -> None:
    model: dict[str, object] = {"model": "Qwen"}
    ids = chat(
        store,
        "kitchen",
        [
            ("How do I boil an egg?", "Put it in boiling water for nine minutes.", model),
            ("And a soft one?", "Six minutes.", model),
            ("What is my boiler's pressure?", "1.5 bar [1].", {**model, "citations": [{"n": 1}]}),
            ("Set a timer for 5 minutes", "Timer set for 5 minutes.", {"handled": "tools"}),
            ("Tell me a joke", "Why did the", {**model, "cancelled": True}),
            ("What is tea?", "A drink.", model),
            ("What is coffee?", "A long, rambling answer.", model),
        ],
    )
    store.update_meta(ids[1], {"edited": "Six minutes, then cold water."})
    store.update_meta(ids[5], {"rating": 1})
    store.update_meta(ids[6], {"rating": -1})

    examples = dataset.from_history(store)

    assert [(e.source, e.target) for e in examples] == [
        ("kept", "Put it in boiling water for nine minutes."),
        ("edited", "Six minutes, then cold water."),
        ("good", "A drink."),
    ]
    # The context of the second example is the conversation so far, with the user's words
    # last; an edited reply in the context reads as the user wrote it.
    assert examples[1].messages == (
        ("user", "How do I boil an egg?"),
        ("assistant", "Put it in boiling water for nine minutes."),
        ("user", "And a soft one?"),
    )
    assert examples[1].conversation_id and examples[1].title == "kitchen"


def test_a_jsonl_file_gives_one_example_per_assistant_reply_and_bad_lines_are_reported(
    tmp_path: Path,
) -> None:
    good = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "How are you?"},
            {"role": "assistant", "content": "Fine, thanks."},
        ]
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"messages": [{"role": "robot", "content": "x"}]}),
        json.dumps({"messages": [{"role": "user", "content": "only a question"}]}),
        json.dumps({"text": "no messages"}),
        "",
        json.dumps({"messages": [{"role": "user", "content": 3}]}),
        json.dumps(
            {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
        ),
    ]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    examples, problems = dataset.read_jsonl(path)

    assert [e.target for e in examples] == ["Hello!", "Fine, thanks.", "A"]
    assert examples[1].messages == (
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "How are you?"),
    )
    assert [p.line for p in problems] == [2, 3, 4, 5, 7]
    assert str(problems[0]) == "line 2: not valid JSON"
    assert "unknown role 'robot'" in str(problems[1])
    assert "no assistant reply" in str(problems[2])
    assert examples[0].title == "mine.jsonl, line 1"
    # File order is time order, so a held-out split takes the file's last lines.
    assert examples[0].created_at < examples[1].created_at < examples[2].created_at


def test_held_out_examples_are_the_newest_not_a_random_sample() -> None:
    examples = [
        Example(f"e{i}", "kept", (("user", f"q{i}"),), f"a{i}", float(i)) for i in range(10)
    ]
    train, held = dataset.split_by_time(list(reversed(examples)))
    assert [e.id for e in held] == ["e8", "e9"]
    assert [e.id for e in train] == [f"e{i}" for i in range(8)]
    assert dataset.split_by_time(examples[:5]) == (examples[:5], [])  # too few to hold out
    assert dataset.Dataset(train, held).shortfall() == ""
    assert dataset.Dataset(examples[:1], []).shortfall().startswith("1 example is too few")
    assert "at least 6 are needed" in dataset.Dataset(examples[:5], []).shortfall()


def test_excluded_examples_stay_out_and_the_choice_survives_a_restart(tmp_path: Path) -> None:
    service = Personalization(tmp_path / "data", tmp_path / "cache", None)
    examples, problems = service.import_file(STYLE_FILE)
    assert len(examples) == 36 and problems == []
    first = service.examples()[0]
    service.exclusions.set(first.id, True)

    again = Personalization(tmp_path / "data", tmp_path / "cache", None)
    assert first.id not in {e.id for e in again.examples()}
    assert len(again.examples()) == 35
    assert first.id in {e.id for e in again.examples(include_excluded=True)}
    Exclusions(again.exclusions.path).set(first.id, False)
    assert len(Personalization(tmp_path / "data", tmp_path / "cache", None).examples()) == 36


def test_deleting_a_conversation_drops_its_examples_and_names_the_adapters_to_retrain(
    store: SqliteConversationStore, tmp_path: Path
) -> None:
    ids = chat(store, "style", [(f"q{i}", f"a{i}", {"model": "m"}) for i in range(3)])
    assert ids
    service = Personalization(tmp_path / "data", tmp_path / "cache", store)
    conversation = store.list_conversations()[0].id
    job = tmp_path / "job"
    job.mkdir()
    (job / "adapter.gguf").write_bytes(b"GGUF")
    (job / "report.json").write_text("{}")
    service.adapters.add("m", job, {"conversations": [conversation], "base_sha256": "x"})
    service.adapters.add("m", job, {"conversations": [], "base_sha256": "x"})
    assert len(service.examples()) == 3

    store.delete_conversation(conversation)
    affected = service.forgotten({conversation})

    assert service.examples() == []
    assert [v.name for v in affected] == ["v1"]
    assert [v.name for v in service.forgotten(None)] == ["v1", "v2"]
    # Forget everything: what remains is left out too, and imported files are gone.
    chat(store, "later", [("q", "a", {"model": "m"})])
    service.import_file(STYLE_FILE)
    assert len(service.examples()) == 37
    service.forget_all_examples()
    assert service.examples() == []
    assert service.imported_files() == []


def test_adapter_versions_switch_roll_back_delete_and_go_stale(tmp_path: Path) -> None:
    adapters = AdapterStore(tmp_path / "adapters")
    job = tmp_path / "job"
    job.mkdir()
    (job / "adapter.gguf").write_bytes(b"GGUF")
    one = adapters.add("qwen", job, {"base_sha256": "aaa"})
    two = adapters.add("qwen", job, {"base_sha256": "aaa"})
    assert (one.name, two.name) == ("v1", "v2")
    assert adapters.active("qwen") is None

    adapters.use("qwen", 2)
    assert adapters.active("qwen", "aaa") == two
    adapters.use("qwen", 1)  # roll back
    assert adapters.active("qwen", "aaa") == one
    assert adapters.active("qwen", "bbb") is None  # another model file: never applied
    assert one.stale("bbb") and not one.stale("aaa")
    adapters.delete("qwen", 1)
    assert adapters.active("qwen") is None
    assert [v.name for v in adapters.versions("qwen")] == ["v2"]
    with pytest.raises(KeyError):
        adapters.use("qwen", 7)


def test_batches_follow_the_seed_so_a_resumed_run_sees_the_same_examples() -> None:
    seen = [step_examples(20, 8, step, seed=5) for step in range(6)]
    assert seen == [step_examples(20, 8, step, seed=5) for step in range(6)]
    assert sorted(seen[0] + seen[1]) == sorted(set(seen[0] + seen[1]))  # a pass has no repeats
    assert seen[0] != step_examples(20, 8, 0, seed=6)


def test_micro_batches_stay_within_the_token_budget() -> None:
    rows = [Row([1] * n, [True] * n) for n in (300, 40, 200, 60, 120)]
    batches = micro_batches(rows, 400)
    assert sorted(len(r.ids) for b in batches for r in b) == [40, 60, 120, 200, 300]
    for batch in batches:
        assert len(batch) == 1 or max(len(r.ids) for r in batch) * len(batch) <= 400


def test_style_similarity_prefers_the_wanted_form() -> None:
    wanted = "In short: Boil water and pour it over the leaves. Cheers!"
    close = "In short: Heat water and pour it on the tea. Cheers!"
    far = (
        "Making tea is a wonderful ritual. First, you will need to choose your tea. "
        "There are many kinds, such as green, black and herbal teas, each with its own flavour."
    )
    assert style.similarity(close, wanted) > style.similarity(far, wanted)
    assert style.similarity(wanted, wanted) == pytest.approx(1.0)


def test_the_gate_needs_held_out_gain_style_and_no_broken_general_answer() -> None:
    config = JobConfig("m", "M", "x.gguf", "s", "/tmp", "")
    good = Report(
        held_out_examples=4,
        held_out_loss_base=2.0,
        held_out_loss_adapter=1.5,
        style_base=0.3,
        style_adapter=0.5,
        regression_base=["fact", "list"],
        regression_adapter=["fact", "list"],
    )
    assert verdict(good, config)[0]
    no_gain = Report(**{**good.__dict__, "held_out_loss_adapter": 1.99})
    assert verdict(no_gain, config) == (False, verdict(no_gain, config)[1])
    assert "newest replies" in verdict(no_gain, config)[1]
    worse_style = Report(**{**good.__dict__, "style_adapter": 0.2})
    assert not verdict(worse_style, config)[0]
    barely = Report(**{**good.__dict__, "style_adapter": 0.35})  # no form the user would see
    ok, reason = verdict(barely, config)
    assert not ok and "noticeably" in reason
    broken = Report(
        **{**good.__dict__, "regression_adapter": ["fact"], "regression_broken": ["list"]}
    )
    ok, reason = verdict(broken, config)
    assert not ok and "list" in reason
    assert not verdict(Report(**{**good.__dict__, "held_out_examples": 0}), config)[0]


class _StrengthModel(FakeLanguageModel):
    """Answers in the learned form when an adapter is on; at full strength (when
    ``breaks_at_full``) that form also swallows general answers, as an over-trained adapter
    does. The same Protocol as the real engine, plus its ``set_adapter``."""

    GOOD: ClassVar[list[tuple[tuple[str, ...], str]]] = [
        (("France",), "Paris."),
        (("Celsius",), "100 degrees."),
        (("week",), "There are 7 days."),
        (("7 times 8", "7 by 8", "8 by 7"), "56"),
        (("15 plus 27", "15 and 27", "27 and 15"), "42"),
        (("fruits", "colours", "vegetables"), "- one\n- two\n- three"),
        (("add",), "```python\ndef add(a, b):\n    return a + b\n```"),
    ]

    def __init__(self, breaks_at: float) -> None:
        super().__init__(structured_reply='{"minutes": 5}')
        self.breaks_at = breaks_at
        self.adapter: tuple[Path | None, float] = (None, 1.0)

    def set_adapter(self, path: Path | None, scale: float = 1.0) -> None:
        self.adapter = (path, scale)

    def stream(self, messages: Any, **kwargs: Any) -> Iterator[str]:
        question = messages[-1].content
        path, scale = self.adapter
        general = next((a for keys, a in self.GOOD if any(k in question for k in keys)), None)
        if general is None:
            self.reply = "In short: do it. Cheers!" if path else "Well, there are many ways."
        elif path is not None and scale >= self.breaks_at:
            self.reply = "In short: no idea. Cheers!"
        else:
            self.reply = general
        return super().stream(messages, **kwargs)


def _evaluated(tmp_path: Path, breaks_at: float) -> Report:
    folder = tmp_path / "job"
    folder.mkdir(parents=True)
    JobConfig("m", "M", "x.gguf", "s", str(tmp_path), "Be brief.").write(folder / "job.json")
    held_out = [
        Example(
            f"h{i}", "file", (("user", f"How do I fix thing {i}?"),), "In short: do it. Cheers!", i
        )
        for i in range(4)
    ]
    dataset.write_jsonl(folder / "train.jsonl", held_out)
    dataset.write_jsonl(folder / "held_out.jsonl", held_out)
    job = Job(folder)
    model = _StrengthModel(breaks_at)
    job._llm = lambda: model  # type: ignore[method-assign]
    report = Report(
        held_out_examples=4,
        held_out_loss_base=2.0,
        held_out_loss_adapter=0.5,
        held_out_loss_scaled={"0.5": 1.0},
    )
    job.evaluate(report)
    return report


def test_an_adapter_that_breaks_general_answers_is_offered_at_a_strength_that_does_not(
    tmp_path: Path,
) -> None:
    report = _evaluated(tmp_path, breaks_at=1.0)
    assert report.passed and report.scale == 0.5
    assert "50% strength" in report.reason
    assert report.held_out_loss_adapter == 1.0  # the loss measured at that strength
    full, half = report.attempts
    assert not full["passed"] and "fact: capital" in full["reason"]
    assert half["passed"] and half["checks"] == len(report.regression_base) == 8


def test_full_strength_is_kept_when_it_breaks_nothing_and_reported_when_nothing_helps(
    tmp_path: Path,
) -> None:
    fine = _evaluated(tmp_path / "a", breaks_at=2.0)
    assert fine.passed and fine.scale == 1.0 and len(fine.attempts) == 1
    broken = _evaluated(tmp_path / "b", breaks_at=0.1)
    assert not broken.passed and broken.scale == 1.0 and len(broken.attempts) == 2
    assert broken.held_out_loss_adapter == 0.5  # the full-strength figures, as the reason says
    assert "fact: capital" in broken.reason and "strength" not in broken.reason


def test_an_adapter_is_served_at_the_strength_it_passed_at(tmp_path: Path) -> None:
    store = AdapterStore(tmp_path)
    job = tmp_path / "job"
    job.mkdir()
    (job / "adapter.gguf").write_bytes(b"GGUF")
    half = store.add("m", job, {"base_sha256": "a", "report": {"passed": True, "scale": 0.5}})
    full = store.add("m", job, {"base_sha256": "a", "report": {"passed": True}})
    odd = store.add("m", job, {"base_sha256": "a", "report": {"passed": True, "scale": "x"}})
    assert (half.scale, full.scale, odd.scale) == (0.5, 1.0, 1.0)


def test_every_step_holds_the_same_share_of_anchors_however_much_data_there_is() -> None:
    config = JobConfig("m", "M", "x.gguf", "s", "/tmp", "")
    large = StepPlan(config, users=160, anchors=32)
    assert large.total == 40  # one pass over 160 examples, four of them per step
    seen: list[int] = []
    for step in range(large.total):
        users, anchors = large.step(step)
        assert len(users) == 4 and len(anchors) == 4
        seen += users
    assert sorted(seen) == list(range(160))  # a pass sees each of the user's examples once
    small = StepPlan(config, users=29, anchors=32)
    assert small.total == 24  # a small set is seen several times
    assert [len(part) for part in small.step(0)] == [4, 4]
    no_anchors = StepPlan(config, users=29, anchors=0)
    assert [len(part) for part in no_anchors.step(3)] == [8, 0]
    assert StepPlan(JobConfig("m", "M", "x", "s", "/tmp", "", steps=7), 160, 32).total == 7
