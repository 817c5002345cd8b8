"""Opus at the internal rate: 20 ms of 24 kHz mono PCM16 ⇄ one Opus packet.

libopus encodes from and decodes to 24 kHz itself (one of its native
rates), so the WebRTC edge needs no resampler and no channel mixing: one
RTP packet is exactly one internal frame each way. The library is called
through ``ctypes`` on the caller's thread; a 20 ms frame costs tens of
microseconds to decode and roughly a hundred to encode, far less than
handing it to a worker thread and back.

Encoder settings (`SpeechEncoder`), chosen for a voice interview:

- mono: both parties are one voice each; the browser's stereo decoder
  plays mono Opus on both ears;
- 24 kHz input, so Opus codes up to 12 kHz ("super-wideband"), exactly
  the band of the internal audio and of the recording: nothing the
  listener could hear is left out by the codec that was there before it;
- ``OPUS_APPLICATION_VOIP`` (speech-tuned analysis, as aiortc uses);
- 32 kbit/s VBR: Opus' recommended range for transparent
  super-wideband/fullband speech is 20-40 kbit/s, and 32 sits well inside
  it (aiortc's default, 96 kbit/s stereo, spends three times as much on a
  second identical channel and on music-grade detail);
- complexity `SPEECH_COMPLEXITY`: above 5 libopus spends its extra effort
  mostly on CELT (music) analysis; for speech the difference is below
  audibility while the encoder costs about half as much;
- in-band FEC on, as browsers negotiate (``useinbandfec=1``), so a lost
  packet is concealed from the next one.

The library is the system's ``libopus`` when there is one, else the copy
that PyAV's wheel ships (aiortc's own codec); `available` says whether
either loaded.

    OpusError   libopus refused a call (bad packet, bad state)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.util
from pathlib import Path

from audio.frames import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE

CHANNELS = 1
APPLICATION_VOIP = 2048
SPEECH_BITRATE = 32_000
SPEECH_COMPLEXITY = 5
# Opus' largest packet for one frame; a 20 ms speech packet is ~80 bytes.
MAX_PACKET_BYTES = 1500
# The most a packet may decode to (120 ms at 24 kHz), as libopus requires room for.
MAX_DECODED_SAMPLES = SAMPLE_RATE * 120 // 1000

_OPUS_OK = 0
_SET_BITRATE = 4002
_SET_VBR = 4006
_SET_COMPLEXITY = 4010
_SET_INBAND_FEC = 4012
_SET_PACKET_LOSS_PERC = 4014
# Loss the encoder plans FEC for: a few percent, as on a decent home network.
EXPECTED_LOSS_PERCENT = 5


class OpusError(RuntimeError):
    """libopus refused a call; the message names it and the library's error."""


@functools.cache
def _library() -> ctypes.CDLL | None:
    candidates: list[str] = []
    system = ctypes.util.find_library("opus")
    if system:
        candidates.append(system)
    # PyAV (aiortc's dependency) ships libopus beside its package in its wheel.
    av = importlib.util.find_spec("av")
    if av is not None and av.origin:
        bundled = Path(av.origin).resolve().parent.parent / "av.libs"
        candidates.extend(str(p) for p in sorted(bundled.glob("libopus*.so*")))
    for candidate in candidates:
        try:
            lib = ctypes.CDLL(candidate)
        except OSError:
            continue
        _declare(lib)
        return lib
    return None


def _declare(lib: ctypes.CDLL) -> None:
    handle, c_int, buffer = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    lib.opus_encoder_create.restype = handle
    lib.opus_encoder_create.argtypes = [ctypes.c_int32, c_int, c_int, ctypes.POINTER(c_int)]
    lib.opus_encoder_destroy.argtypes = [handle]
    lib.opus_encode.restype = ctypes.c_int32
    lib.opus_encode.argtypes = [handle, buffer, c_int, buffer, ctypes.c_int32]
    lib.opus_decoder_create.restype = handle
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, c_int, ctypes.POINTER(c_int)]
    lib.opus_decoder_destroy.argtypes = [handle]
    lib.opus_decode.restype = c_int
    lib.opus_decode.argtypes = [handle, buffer, ctypes.c_int32, buffer, c_int, c_int]
    lib.opus_strerror.restype = ctypes.c_char_p
    lib.opus_strerror.argtypes = [c_int]


def available() -> bool:
    """Whether a libopus could be loaded."""
    return _library() is not None


def _lib() -> ctypes.CDLL:
    lib = _library()
    if lib is None:
        raise OpusError("libopus is not available")
    return lib


def _check(lib: ctypes.CDLL, result: int, call: str) -> int:
    if result < _OPUS_OK:
        raise OpusError(f"{call}: {lib.opus_strerror(result).decode()}")
    return result


class SpeechEncoder:
    """20 ms frames of 24 kHz mono PCM16 → Opus packets (settings in the module docstring)."""

    def __init__(self, bitrate: int = SPEECH_BITRATE, complexity: int = SPEECH_COMPLEXITY) -> None:
        lib = self._lib = _lib()
        error = ctypes.c_int()
        handle = lib.opus_encoder_create(SAMPLE_RATE, CHANNELS, APPLICATION_VOIP, error)
        _check(lib, error.value, "opus_encoder_create")
        self._handle = ctypes.c_void_p(handle)
        for request, value in (
            (_SET_BITRATE, bitrate),
            (_SET_VBR, 1),
            (_SET_COMPLEXITY, complexity),
            (_SET_INBAND_FEC, 1),
            (_SET_PACKET_LOSS_PERC, EXPECTED_LOSS_PERCENT),
        ):
            _check(lib, lib.opus_encoder_ctl(self._handle, request, ctypes.c_int(value)), "ctl")
        self._out = ctypes.create_string_buffer(MAX_PACKET_BYTES)

    def encode(self, pcm: bytes) -> bytes:
        """One Opus packet for one 960-byte frame."""
        if len(pcm) != FRAME_BYTES:
            raise ValueError("the encoder takes exactly one 20 ms frame")
        lib = self._lib
        size = lib.opus_encode(self._handle, pcm, FRAME_SAMPLES, self._out, MAX_PACKET_BYTES)
        return self._out.raw[: _check(lib, size, "opus_encode")]

    def close(self) -> None:
        """Free the encoder. Idempotent."""
        if self._handle.value:
            self._lib.opus_encoder_destroy(self._handle)
            self._handle = ctypes.c_void_p()

    def __del__(self) -> None:
        self.close()


class SpeechDecoder:
    """Opus packets (any mode, mono or stereo) → 24 kHz mono PCM16."""

    def __init__(self) -> None:
        lib = self._lib = _lib()
        error = ctypes.c_int()
        handle = lib.opus_decoder_create(SAMPLE_RATE, CHANNELS, error)
        _check(lib, error.value, "opus_decoder_create")
        self._handle = ctypes.c_void_p(handle)
        self._out = ctypes.create_string_buffer(MAX_DECODED_SAMPLES * 2)

    def decode(self, packet: bytes) -> bytes:
        """The PCM of one packet (960 bytes for a 20 ms packet). Raise `OpusError` if corrupt."""
        lib = self._lib
        samples = lib.opus_decode(
            self._handle, packet, len(packet), self._out, MAX_DECODED_SAMPLES, 0
        )
        return self._out.raw[: _check(lib, samples, "opus_decode") * 2]

    def conceal(self, following: bytes | None = None) -> bytes:
        """One frame in place of a lost packet: rebuilt from the redundancy (FEC) that
        ``following``, the packet after the loss, carries, else extrapolated (PLC)."""
        lib = self._lib
        data, fec = (following, 1) if following else (None, 0)
        samples = lib.opus_decode(
            self._handle, data, len(following or b""), self._out, FRAME_SAMPLES, fec
        )
        return self._out.raw[: _check(lib, samples, "opus_decode") * 2]

    def close(self) -> None:
        """Free the decoder. Idempotent."""
        if self._handle.value:
            self._lib.opus_decoder_destroy(self._handle)
            self._handle = ctypes.c_void_p()

    def __del__(self) -> None:
        self.close()
