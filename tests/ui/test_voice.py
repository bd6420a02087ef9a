"""Push-to-talk in the window, with fake devices and fake speech engines."""

from __future__ import annotations

from app.audio.devices import CAPTURE_RATE
from app.audio.fake import FakePlayer, FakeRecorder
from app.core.ports import AudioClip
from app.settings import Settings
from app.ui.main_window import MainWindow
from app.workers.voice import VoiceController, VoiceOptions
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.fakes import FakeLanguageModel, FakeSpeechToText, FakeTextToSpeech
from tests.ui.conftest import WindowFactory, texts

REPLY = "Paris is the capital of France. It is lovely in spring. Enjoy your trip!"


def seconds(duration: float) -> AudioClip:
    return AudioClip(b"\x00\x10" * int(CAPTURE_RATE * duration), CAPTURE_RATE)


class Rig:
    def __init__(
        self,
        qtbot: QtBot,
        make_window: WindowFactory,
        *,
        heard: str = "",
        clip: AudioClip | None = None,
        llm: FakeLanguageModel | None = None,
        options: VoiceOptions | None = None,
        settings: Settings | None = None,
        missing_mic: bool = False,
    ) -> None:
        self.recorder = FakeRecorder(clip or seconds(1.5), missing=missing_mic)
        self.player = FakePlayer(instant=True)
        self.stt = FakeSpeechToText(heard if heard else "What is the capital of France?")
        self.tts = FakeTextToSpeech()
        self.voice = VoiceController(
            self.recorder, self.player, self.stt, self.tts, options=options or VoiceOptions()
        )
        self.window: MainWindow = make_window(
            llm or FakeLanguageModel(REPLY), voice=self.voice, settings=settings
        )
        self.qtbot = qtbot

    def hold_button(self, ms: int = 100) -> None:
        button = self.window.composer.talk_button
        self.qtbot.mousePress(button, Qt.MouseButton.LeftButton)
        self.qtbot.wait(ms)
        self.qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)


def recording(rig: Rig) -> bool:
    return rig.recorder.recording


def test_hold_to_talk_sends_the_transcript_and_speaks_the_reply(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window)
    assert rig.window.composer.talk_button.isVisible()
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        rig.hold_button()
    assert texts(rig.window) == [("user", "What is the capital of France?"), ("assistant", REPLY)]
    qtbot.waitUntil(lambda: len(rig.player.played) == 3, timeout=5000)
    assert rig.tts.requests == [
        "Paris is the capital of France.",
        "It is lovely in spring.",
        "Enjoy your trip!",
    ]
    timings = rig.window.turns.timings()
    assert set(timings) == {
        "release->transcript",
        "transcript->prompt",
        "prompt->first_token",
        "first_token->first_sentence",
        "first_sentence->first_audio",
        "total",
    }
    assert all(v >= 0 for v in timings.values())
    footer = rig.window.chat.bubbles()[-1].footer
    assert footer.text().startswith("Spoke after")
    assert "hearing" in footer.toolTip() and "reading" in footer.toolTip()
    assert rig.stt.clips[-1].duration >= 1.5


def test_ctrl_space_held_anywhere_in_the_window(qtbot: QtBot, make_window: WindowFactory) -> None:
    rig = Rig(qtbot, make_window)
    box = rig.window.composer.input
    rig.window.activateWindow()
    box.setFocus()
    qtbot.keyPress(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert recording(rig)
    assert rig.window.composer.meter.isVisibleTo(rig.window)
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        qtbot.keyRelease(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert not recording(rig)
    assert box.toPlainText() == ""  # the space was not typed into the message
    assert texts(rig.window)[0] == ("user", "What is the capital of France?")


def test_a_tap_is_not_a_question(qtbot: QtBot, make_window: WindowFactory) -> None:
    rig = Rig(qtbot, make_window, clip=seconds(0.1))
    rig.hold_button(20)
    qtbot.wait(100)
    assert "didn't catch that" in rig.window.composer.hint.text()
    assert texts(rig.window) == [] and not rig.window.busy
    assert rig.window.notifications.visible_notifications() == []
    assert rig.stt.clips == []  # too short to bother the recogniser


def test_the_not_heard_hint_goes_once_the_user_types_or_sends(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window, clip=seconds(0.1))
    hint = rig.window.composer.hint
    rig.hold_button(20)
    assert "didn't catch that" in hint.text()
    qtbot.keyClicks(rig.window.composer.input, "W")  # typing instead
    assert hint.text() == ""
    rig.window.composer.input.clear()
    rig.hold_button(20)
    assert "didn't catch that" in hint.text()
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        rig.window.chat.answered.emit("Yes, forget it")  # sent without typing
    assert hint.text() == ""


def test_silence_is_not_a_question(qtbot: QtBot, make_window: WindowFactory) -> None:
    rig = Rig(qtbot, make_window)
    rig.stt.heard = ""
    rig.hold_button()
    qtbot.waitUntil(lambda: "didn't catch that" in rig.window.composer.hint.text(), timeout=5000)
    assert texts(rig.window) == []
    assert rig.window.notifications.visible_notifications() == []


def test_review_first_puts_the_words_in_the_composer(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window, settings=Settings(review_transcript=True))
    rig.hold_button()
    qtbot.waitUntil(lambda: rig.window.composer.input.toPlainText() != "", timeout=5000)
    assert rig.window.composer.input.toPlainText() == "What is the capital of France?"
    assert texts(rig.window) == [] and not rig.window.busy
    hint = rig.window.composer.hint
    assert hint.text().startswith("Check the words")
    qtbot.keyClicks(rig.window.composer.input, " Quickly.")  # fixing the words keeps it
    assert hint.text().startswith("Check the words")
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        qtbot.keyClick(rig.window.composer.input, Qt.Key.Key_Return)
    assert hint.text() == ""


def test_barge_in_stops_the_reply_and_listens(qtbot: QtBot, make_window: WindowFactory) -> None:
    llm = FakeLanguageModel(" ".join(f"Sentence {i}." for i in range(100)), token_delay=0.03)
    rig = Rig(qtbot, make_window, llm=llm)
    rig.hold_button()
    qtbot.waitUntil(lambda: len(rig.player.played) >= 1, timeout=10000)
    assert rig.window.busy
    stops = rig.player.stops
    qtbot.mousePress(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    assert rig.player.stops > stops  # silence at once
    assert rig.recorder.recording  # and listening
    qtbot.waitUntil(lambda: not rig.window.busy, timeout=5000)
    assert rig.window.chat.bubbles()[-1].footer.text() == "Stopped"
    spoken = len(rig.tts.requests)
    qtbot.wait(300)
    assert len(rig.tts.requests) == spoken  # nothing more is synthesised
    rig.voice.cancel_listening()


def test_no_microphone_is_a_clear_message_and_typing_still_works(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window, missing_mic=True)
    rig.hold_button()
    notes = rig.window.notifications.visible_notifications()
    assert len(notes) == 1 and "No microphone" in notes[0].message
    box = rig.window.composer.input
    qtbot.keyClicks(box, "typed question")
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        qtbot.keyClick(box, Qt.Key.Key_Return)
    assert texts(rig.window)[-1] == ("assistant", REPLY)
    assert rig.player.played == []  # typed questions get typed answers


def test_recording_is_capped_with_a_warning(qtbot: QtBot, make_window: WindowFactory) -> None:
    rig = Rig(qtbot, make_window, options=VoiceOptions(max_seconds=0.3))
    qtbot.mousePress(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        pass  # still holding: the cap releases by itself
    notes = rig.window.notifications.visible_notifications()
    assert any(
        "Recording stopped at 0 seconds" in n.message or "Recording stopped" in n.message
        for n in notes
    )
    qtbot.mouseRelease(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    assert texts(rig.window)[0][0] == "user"


def test_mute_keeps_the_voice_quiet(qtbot: QtBot, make_window: WindowFactory) -> None:
    rig = Rig(qtbot, make_window, options=VoiceOptions(mute=True))
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        rig.hold_button()
    qtbot.wait(200)
    assert texts(rig.window)[-1] == ("assistant", REPLY)
    assert rig.player.played == [] and rig.tts.requests == []


def test_partial_transcripts_show_and_make_the_final_one_instant(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    said = seconds(1.5)
    rig = Rig(qtbot, make_window, clip=AudioClip(said.pcm + bytes(CAPTURE_RATE), CAPTURE_RATE))
    qtbot.mousePress(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: rig.window.composer.hint.text().startswith("Hearing: "), timeout=5000)
    assert rig.window.composer.hint.text() == "Hearing: What is the capital of France?"
    partials = len(rig.stt.clips)
    assert partials >= 1
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        qtbot.mouseRelease(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    # Nothing but silence came after the last partial: it became the final transcript
    # without another pass of speech recognition.
    assert len(rig.stt.clips) == partials
    assert texts(rig.window)[0] == ("user", "What is the capital of France?")


def test_speech_after_the_last_partial_is_transcribed_again(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window)
    qtbot.mousePress(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(rig.stt.clips) >= 1, timeout=5000)
    rig.voice._partial_timer.stop()  # no more partials: the user keeps talking
    qtbot.wait(100)
    rig.recorder.clip = seconds(3.0)  # the recording grew with more speech
    rig.stt.heard = "What is the capital of France and of Spain?"
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        qtbot.mouseRelease(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    assert rig.stt.clips[-1].duration == 3.0
    assert texts(rig.window)[0] == ("user", "What is the capital of France and of Spain?")


def test_silence_after_the_words_prepares_them_once_and_stops_transcribing(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window)
    # Transcripts are made on the thread that prepares and answers: never side by side.
    assert rig.voice.hearing is rig.window.backend.runner
    prepared: list[str] = []

    def prepare(conversation_id: str, heard: str) -> None:
        prepared.append(heard)

    rig.window.backend.prepare = prepare  # type: ignore[method-assign]
    qtbot.mousePress(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: rig.window.composer.hint.text().startswith("Hearing: "), timeout=5000)
    assert prepared == []  # still speaking, as far as Hearth knows: nothing prepared yet
    speech = rig.recorder.clip
    rig.recorder.clip = AudioClip(speech.pcm + b"\x00\x00" * CAPTURE_RATE, CAPTURE_RATE)
    qtbot.waitUntil(lambda: prepared != [], timeout=5000)
    calls = len(rig.stt.clips)
    qtbot.wait(500)  # five more ticks of silence: no new transcript, no second preparation
    assert len(rig.stt.clips) == calls
    assert prepared == ["What is the capital of France?"]
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        qtbot.mouseRelease(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    assert len(rig.stt.clips) == calls  # the settled words were the final transcript
    assert texts(rig.window)[0] == ("user", "What is the capital of France?")


def test_voice_settings_and_microphone_test(qtbot: QtBot, make_window: WindowFactory) -> None:
    from app.ui.settings_dialog import SettingsDialog

    rig = Rig(qtbot, make_window)
    window = rig.window
    dialog = SettingsDialog(
        window.backend.settings,
        window.backend.models(),
        window.backend.data_dir,
        window,
        voice=rig.voice,
    )
    qtbot.addWidget(dialog)
    assert dialog.microphone.findData("fake-mic") > 0
    assert dialog.speaker.findData("fake-speaker") > 0
    dialog.microphone.setCurrentIndex(dialog.microphone.findData("fake-mic"))
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert recording(rig) and rig.recorder.starts[-1] == "fake-mic"
    qtbot.waitUntil(lambda: dialog.mic_meter.value() > 0, timeout=2000)
    dialog.speaker.setCurrentIndex(dialog.speaker.findData("fake-speaker"))
    dialog.stt_model.setCurrentIndex(dialog.stt_model.findData("whisper-base"))
    dialog.speak_replies.setChecked(False)
    dialog.review.setChecked(True)
    dialog.rate.setValue(1.3)
    dialog.volume.setValue(80)
    from PySide6.QtGui import QKeySequence

    dialog.talk_shortcut.setKeySequence(QKeySequence("Alt+T"))
    dialog.reject()  # closing stops the microphone test
    assert not recording(rig)
    chosen = dialog.result_settings()
    assert (chosen.input_device, chosen.output_device) == ("fake-mic", "fake-speaker")
    assert chosen.stt_model == "whisper-base" and chosen.mute and chosen.review_transcript
    assert chosen.speech_rate == 1.3 and chosen.speech_volume == 0.8
    assert chosen.talk_shortcut == "Alt+T"
    options = VoiceOptions.from_settings(chosen)
    rig.voice.apply(options)
    assert rig.player.device == "fake-speaker" and rig.voice.options.mute


def test_microphone_unplugged_mid_recording_keeps_the_words(
    qtbot: QtBot, make_window: WindowFactory
) -> None:
    rig = Rig(qtbot, make_window)
    qtbot.mousePress(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    with qtbot.waitSignal(rig.window.turn_finished, timeout=10000):
        rig.recorder.unplug()
    notes = rig.window.notifications.visible_notifications()
    assert any("unplugged" in n.message for n in notes)
    assert texts(rig.window)[0] == ("user", "What is the capital of France?")
    qtbot.mouseRelease(rig.window.composer.talk_button, Qt.MouseButton.LeftButton)
    assert not rig.window.busy
