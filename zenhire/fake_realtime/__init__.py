"""fake_realtime."""
