"""One Falcon resource per endpoint; shared request checks in :mod:`.contract`."""
