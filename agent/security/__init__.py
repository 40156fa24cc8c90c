"""Data protection: encryption at rest, private files, retention, wiping and safe transport.

Modules: `sealing` (the payload codec), `keys` (the data key in the keyring), `identity` (the
keyring id naming a database's entries), `encryption` (whether data is encrypted, decided from the
keyring), `at_rest` (opening, switching and rotating), `control` (the user's actions on them),
`permissions`, `retention`, `signout`, `transit` (URLs and TLS).
Nothing is imported here, so `agent.profile` can use the parts without a cycle.
"""
