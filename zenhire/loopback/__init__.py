"""The whole lifecycle on loopback, for the tests, ``zenhire bench`` and ``zenhire dev``.

`servers` runs ASGI apps under uvicorn on a free port; `integrator` calls
the control plane's integrator API as an ATS does (personas, sessions,
status) and verifies a link as the page does; `stack` starts a control
plane and a gateway with their own data directories and the gateway
environment; `candidate` and `webrtc_candidate` are scripted candidates on
each transport; `speech` synthesizes real speech; `redis` runs a real
redis-server.
"""
