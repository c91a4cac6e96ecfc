"""ConfigError: the one-line error that stops the start on a bad setting."""


class ConfigError(RuntimeError):
    """A setting that stops the start; its message is one line and never holds a secret."""
