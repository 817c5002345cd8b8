"""ZenHire interview gateway: the command line and what both services share."""
