"""Errors with a stable code and a sentence a person can act on.

Every stage raises a subclass of :class:`AssistantError` defined here, so the code of an
``ERROR`` event says which stage failed whatever engine sits behind it. The turn turns them
into an ``ERROR`` event in one place; the GUI shows ``message`` and keeps ``details`` for the
"Details" button and the log file.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error Hearth reports to the user."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, details: str = "") -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ModelError(AssistantError):
    """A model file is missing, incomplete or does not match its checksum."""

    code = "model"


class ModelMissingError(ModelError):
    code = "model-missing"


class ModelCorruptError(ModelError):
    code = "model-corrupt"


class LanguageModelError(AssistantError):
    """The language model failed to load or to generate."""

    code = "llm"


class StoreError(AssistantError):
    """The conversation store could not read or write."""

    code = "store"


class SpeechToTextError(AssistantError):
    """Speech recognition failed (the model, or the audio it was given)."""

    code = "stt"


class TextToSpeechError(AssistantError):
    """The voice could not speak a sentence."""

    code = "tts"


class AudioDeviceError(AssistantError):
    """No device, a busy device, or a device unplugged mid-recording or mid-reply."""

    code = "audio-device"


class OcrError(AssistantError):
    """The text in an image could not be read."""

    code = "ocr"


class ImageModelError(AssistantError):
    """The image model failed to load or to embed."""

    code = "image-model"


class TextEmbeddingError(AssistantError):
    """The memory's sentence embedder failed."""

    code = "text-embedding"


class MemoryStoreError(AssistantError):
    """The memory store could not be read or written."""

    code = "memory"


class InternalError(AssistantError):
    """Anything unexpected; the traceback is in ``details`` and in the log."""

    code = "internal"
