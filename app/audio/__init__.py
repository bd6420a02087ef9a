"""Audio: WAV files, capture and playback devices (no Qt here, no model libraries)."""
