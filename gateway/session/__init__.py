"""A live interview and everything it is made of.

`live.LiveSession` is the unit of work; `registry.SessionRegistry` starts,
tracks and finishes them (`archive` stores and reports what they leave);
`clock`, `inbox`, `playout` and `recording` are the 20 ms timeline;
`events` are what the page is told; `telemetry` what operators see.
"""
