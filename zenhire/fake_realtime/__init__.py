"""A small working fake of the OpenAI Realtime API over WebSocket, for tests and benchmarks.

`server.FakeRealtime` serves it on loopback (``python -m zenhire.fake_realtime``
runs it standalone); its module docstring says what the fake checks, hears,
says, and how it misbehaves on cue. The modules, by role:

- the endpoint: `server` (handshakes, one `session.FakeSession` per
  connection, the command line) and `host` (what every connection shares);
- one connection: `session` (the client events), `responder` (the model's
  responses), `outbox` (the server events it sends), `conversation` (its
  items) and `connection` (the record tests and benchmarks inspect);
- vocabulary: `cues` (how the fake behaves, its faults) and `script` (what is
  said in an interview);
- audio and checks: `pcm` (24 kHz PCM16), `vad` (server VAD, pure) and
  `checks` (what a client's ``session.update`` or item gets wrong).
"""
