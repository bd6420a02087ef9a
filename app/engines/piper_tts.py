"""Text to speech with piper (ONNX voice + espeak-ng phonemes, both inside the wheel).

Piper yields one audio chunk per sentence, so playback can start after the first sentence.
The ONNX session is built here rather than by ``PiperVoice.load`` so that its thread count is
explicit (the default would take every core from the language model).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.core.cancel import CancelToken
from app.core.errors import ModelCorruptError, TextToSpeechError
from app.core.ports import AudioClip
from app.engines.loader import LazyModel
from app.engines.models import verified_while_loading

log = logging.getLogger(__name__)


class PiperTextToSpeech:
    """:class:`app.core.ports.TextToSpeech` backed by piper-tts."""

    def __init__(
        self,
        voice_dir: Path | Callable[[], Path],
        *,
        name: str,
        voice_file: str = "en_US-joe-medium.onnx",
        threads: int = 1,
        verify: Callable[[], None] | None = None,
    ) -> None:
        self._locate = voice_dir if callable(voice_dir) else (lambda: Path(voice_dir))
        self._verify = verify
        self._name = name
        self._voice_file = voice_file
        self._threads = threads
        self._rate = 22050
        self._voice: LazyModel[Any] = LazyModel(f"voice {name}", self._build)

    @property
    def name(self) -> str:
        return self._name

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def loaded(self) -> bool:
        return self._voice.loaded

    @property
    def load_seconds(self) -> float:
        return self._voice.load_seconds

    def load(self) -> None:
        self._voice.get()

    def _build(self) -> Any:
        model = self._locate() / self._voice_file
        import onnxruntime
        from piper.config import PiperConfig
        from piper.phonemize_espeak import ESPEAK_DATA_DIR
        from piper.voice import PiperVoice

        try:
            config = PiperConfig.from_dict(
                json.loads(Path(f"{model}.json").read_text(encoding="utf-8"))
            )
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            with verified_while_loading(self._verify):
                session = onnxruntime.InferenceSession(
                    str(model), sess_options=options, providers=["CPUExecutionProvider"]
                )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelCorruptError(
                f"The voice {model.name} could not be loaded; it may be damaged. "
                "Run `hearth doctor` to check it.",
                details=repr(exc),
            ) from exc
        self._rate = int(config.sample_rate)
        return PiperVoice(
            config=config,
            session=session,
            espeak_data_dir=Path(ESPEAK_DATA_DIR),
            download_dir=model.parent,
        )

    def synthesize(
        self, text: str, *, cancel: CancelToken, rate: float = 1.0, volume: float = 1.0
    ) -> Iterator[AudioClip]:
        voice = self._voice.get()
        from piper.config import SynthesisConfig

        config = SynthesisConfig(
            length_scale=1.0 / max(0.25, min(4.0, rate)),
            volume=max(0.0, min(2.0, volume)),
        )
        try:
            for chunk in voice.synthesize(text, syn_config=config):
                if cancel.is_cancelled():
                    return
                yield AudioClip(chunk.audio_int16_bytes, int(chunk.sample_rate))
                if cancel.is_cancelled():
                    return
        except (RuntimeError, ValueError) as exc:
            raise TextToSpeechError(
                "Speech synthesis failed. The details are in the log.", details=repr(exc)
            ) from exc

    def close(self) -> None:
        self._voice.close()
