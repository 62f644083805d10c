"""CLI commands. Each module defines ``register(group)`` and keeps logic in the library modules."""
