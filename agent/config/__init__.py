"""Configuration an administrator manages: the policy (file, registry, managed preferences) and
the checks shared by every place a setting can be set."""

# The store package is initialised before `agent.security.errors` (which the modules here use)
# can be imported: it reaches back into the store's own errors.
import agent.store  # noqa: F401
