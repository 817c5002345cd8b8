"""``python -m zenhire.fake_realtime``: run the fake upstream (see `server`)."""

from zenhire.fake_realtime.server import main

main()
