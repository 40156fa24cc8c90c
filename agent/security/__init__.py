"""Data protection: encryption at rest, private files, retention, wiping and safe transport.

Modules: `sealing` (the payload codec), `keys` (the data key in the keyring), `at_rest` (opening,
switching and rotating), `permissions`, `retention`, `signout`, `transit` (URLs and TLS).
Nothing is imported here, so `agent.profile` can use the parts without a cycle.
"""
