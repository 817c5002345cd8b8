"""The state replicas share: live slots and the live-session directory.

`store.open_state` picks the in-process implementations (`slots`,
`directory`) or the Redis ones (`redis_slots`, `redis_directory`).
"""
