"""The WebRTC transport: Opus audio both ways, events on the data channel ``events``.

One `Peer` is one ``RTCPeerConnection`` with one candidate page; its
`CandidateChannel` (shared with the WebSocket transport) holds the rules,
the peer only its I/O. Signaling is a single
POST (`gateway.transports.signaling`): the page's offer carries an audio m-line and
the ``events`` data channel it created; `Peer.answer` returns the answer
with every gateway candidate in it (non-trickle). Then `Peer.run` holds the
connection:

    wait for the events channel to open (ICE + DTLS + SCTP)
    ├── admit    channel.admit(): `waiting` events, then `live`
    ├── pump     channel events → data channel; on its close: flush, then stop
    ├── receive  candidate audio → `CandidateAudio` → channel.receive_audio
    └── watch    connection failed/closed, channel closed, or silence ⇒ gone

The page sends ``{"type": "ping"}`` every second and ``{"type": "end"}`` to
finish. aiortc has neither ICE restart nor a dependable ``disconnected``
state, so a peer silent on the data channel for `PEER_SILENCE_TIMEOUT_SEC`
counts as lost; the session records silence meanwhile and keeps the slot
for its reconnect grace. Reconnecting is a new offer with the same ticket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import av
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

from audio import opus
from gateway.logs import bind_session
from gateway.s2s.controlplane import Verification
from gateway.services import Services
from gateway.settings import IceServer
from gateway.transports.channel import CandidateChannel
from gateway.transports.rtcaudio import (
    MEDIA_INLINE,
    CandidateAudio,
    InlineDecoding,
    InterviewerTrack,
)
from zenhire.tasks import first_to_finish, while_running

log = logging.getLogger("zenhire.webrtc")

EVENTS_CHANNEL = "events"
MAX_SDP_CHARS = 64 * 1024
# ICE checks, the DTLS handshake and SCTP must open the events channel in time.
CONNECT_TIMEOUT_SEC = 15.0
# The page pings every second; five missed pings mean the peer is gone.
PEER_SILENCE_TIMEOUT_SEC = 5.0
WATCH_INTERVAL_SEC = 0.25
# On close, queued events (`ended`, a superseded `error`) get this long to
# leave aiortc's SCTP buffer, then a short linger for the last chunk to be
# acknowledged: closing the connection aborts the SCTP association.
FLUSH_TIMEOUT_SEC = 2.0
CLOSE_LINGER_SEC = 0.3
LOST_STATES = ("failed", "closed")
# aiortc's SDP parser and setRemoteDescription signal a bad offer with these.
_OFFER_ERRORS = (
    ValueError,
    LookupError,
    AssertionError,
    TypeError,
    OperationError,
    InternalError,
    InvalidStateError,
    InvalidAccessError,
)


class OfferRejected(ValueError):
    """The page's offer cannot be answered; the message says why."""


def check_offer(sdp: str) -> None:
    """Raise `OfferRejected` unless ``sdp`` is a bounded offer with audio and a data channel."""
    if len(sdp) > MAX_SDP_CHARS:
        raise OfferRejected(f"The offer is larger than {MAX_SDP_CHARS} characters.")
    try:
        media = [media.kind for media in SessionDescription.parse(sdp).media]
    except _OFFER_ERRORS:
        raise OfferRejected("The offer is not a valid session description.") from None
    if "audio" not in media:
        raise OfferRejected("The offer has no audio.")
    if "application" not in media:
        raise OfferRejected(f"The offer has no {EVENTS_CHANNEL!r} data channel.")


class Peer:
    """One candidate's ``RTCPeerConnection``; its `channel` is the session's `Transport`."""

    def __init__(
        self,
        found: Services,
        verification: Verification,
        ice_servers: tuple[IceServer, ...],
        *,
        on_open: Callable[[], None] = lambda: None,
    ) -> None:
        servers = [RTCIceServer(list(s.urls), s.username, s.credential) for s in ice_servers]
        # An explicit list, even empty: aiortc's default is a public STUN server.
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self._found = found
        self._outgoing = InterviewerTrack()
        self.channel = CandidateChannel("webrtc", found, verification, self._outgoing.offer)
        self._incoming: MediaStreamTrack | None = None
        self._data: RTCDataChannel | None = None
        # Set once the events channel opens, or close() is asked for before it does.
        self._started = asyncio.Event()
        self._drained = asyncio.Event()
        self._last_heard = time.monotonic()
        self._pc.on("datachannel", self._on_datachannel)
        self._on_open = on_open  # called once the events channel is open (or never will be)

    @property
    def session_id(self) -> str:
        return self.channel.verification.session_id

    def close(self, code: int, reason: str) -> None:
        """End the connection (the gateway is stopping), even before it opened."""
        self.channel.close(code, reason)
        self._started.set()

    # -- the connection ---------------------------------------------------------

    async def answer(self, offer: RTCSessionDescription) -> RTCSessionDescription:
        """Apply the page's offer; return the answer with all local candidates.

        aiortc gathers every candidate inside ``setLocalDescription``, so the
        answer is complete when it returns. Raise `OfferRejected` when aiortc
        cannot use the offer (no common codec, missing ICE credentials, ...).
        """
        pc = self._pc
        try:
            await pc.setRemoteDescription(offer)
        except _OFFER_ERRORS as exc:
            raise OfferRejected(f"The offer cannot be used: {exc}") from exc
        audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
        if not audio:
            raise OfferRejected("The offer has no audio.")
        self._incoming = audio[0].receiver.track
        pc.addTrack(self._outgoing)
        await pc.setLocalDescription(await pc.createAnswer())
        local = pc.localDescription
        if self._found.settings.webrtc_media == MEDIA_INLINE:
            self._code_inline(audio[0].receiver, local.sdp)
        return RTCSessionDescription(sdp=local.sdp, type=local.type)

    def _code_inline(self, receiver: object, answer_sdp: str) -> None:
        """Code Opus on the event loop (`rtcaudio`), when Opus is what was agreed."""
        media = [m for m in SessionDescription.parse(answer_sdp).media if m.kind == "audio"]
        codecs = media[0].rtp.codecs if media else []
        if not codecs or codecs[0].name.lower() != "opus" or not opus.available():
            return
        self._outgoing.encode_inline(opus.SpeechEncoder())
        InlineDecoding(self.channel.receive_audio).attach(receiver)

    async def run(self) -> None:
        """Hold the connection until it ends, then close it. Raises only on cancellation."""
        bind_session(self.session_id)
        try:
            await self._hold()
        except Exception:
            log.exception("webrtc connection failed")
        finally:
            await self._release()

    async def shut(self) -> None:
        """Close the connection now (a negotiation that failed, or nothing was started)."""
        self._outgoing.stop()
        await self._pc.close()

    async def _hold(self) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SEC):
                await self._started.wait()
        except TimeoutError:
            log.info("webrtc peer did not connect", extra={"state": self._pc.connectionState})
            return
        self._on_open()
        if self._data is None or self.channel.closing is not None:
            return
        self._last_heard = time.monotonic()
        reason = await while_running(
            first_to_finish(self._pump(), self._receive(), self._watch()), self.channel.admit()
        )
        log.info("webrtc peer closed", extra={"reason": reason})

    async def _release(self) -> None:
        await self.channel.release()
        await self.shut()

    async def _pump(self) -> str:
        data = self._data
        assert data is not None
        channel = self.channel
        while True:
            await channel.wait()
            try:
                for text in channel.take_events():
                    data.send(text)
            except InvalidStateError:
                return "data channel closed"
            if channel.closing is not None:
                await self._flush(data)
                return f"closed: {channel.closing[1]}"

    async def _flush(self, channel: RTCDataChannel) -> None:
        self._drained.clear()
        if channel.bufferedAmount:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FLUSH_TIMEOUT_SEC):
                    await self._drained.wait()
        await asyncio.sleep(CLOSE_LINGER_SEC)

    async def _receive(self) -> str:
        track = self._incoming
        assert track is not None
        audio = CandidateAudio()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return "candidate audio ended"
            if not isinstance(frame, av.AudioFrame):
                return "the candidate's track is not audio"
            for pcm in audio.frames(frame):
                self.channel.receive_audio(pcm)

    async def _watch(self) -> str:
        data = self._data
        assert data is not None
        while True:
            await asyncio.sleep(WATCH_INTERVAL_SEC)
            if self._pc.connectionState in LOST_STATES:
                return f"connection {self._pc.connectionState}"
            if data.readyState != "open":
                return "data channel closed"
            if time.monotonic() - self._last_heard > PEER_SILENCE_TIMEOUT_SEC:
                return "no message from the page in time"

    # -- aiortc callbacks (synchronous) -----------------------------------------

    def _on_datachannel(self, data: RTCDataChannel) -> None:
        if data.label != EVENTS_CHANNEL or self._data is not None:
            data.close()
            return
        self._data = data
        data.on("message", self._on_message)
        data.on("bufferedamountlow", self._drained.set)
        if data.readyState == "open":
            self._started.set()
        else:
            data.on("open", self._started.set)

    def _on_message(self, message: str | bytes) -> None:
        self._last_heard = time.monotonic()
        self.channel.receive_text(message if isinstance(message, str) else "")
