"""The sync engine: push with a three-way merge, exactly-once creates, pull, conflicts."""
