"""``zenhire bench``: what one live interview costs the gateway, measured end to end.

    load core (this process, uvloop)                gateway core (taskset)
    ┌───────────────────────────────────┐           ┌──────────────────────┐
    │ control plane (reference, uvicorn) │◀── S2S ──▶│ zenhire gateway serve │
    │ fake realtime upstream (`upstream`)│◀── WS ───▶│  (realtime interviewer│
    │ candidates (`ws_load`, `rtc_load`) │◀─ WS/RTC ▶│   relaying to it)     │
    └───────────────────────────────────┘           └──────────────────────┘

`ramp` adds simulated candidates step by step; each streams real speech
(eSpeak NG) and hears the fake interviewer's speech, streamed back in
real time. Frames are marked (`markers`) so that every frame's trip is
timed with CLOCK_MONOTONIC on both ends (the same process here). `probe`
reads the gateway's own CPU and memory accounting from /proc; `echo`
holds the two baselines (a bare Starlette WebSocket echo, a stock aiortc
audio echo); `lifecycle` times an interview's start and its finalization;
`report` writes JSON, a markdown table and a PNG plot.
"""
