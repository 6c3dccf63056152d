"""Stream simulation outputs into one normalized SQLite warehouse."""

__version__ = "0.1.0"

# pandas is loaded only when these are first used: `warehouse build` never needs it.
_LAZY = {"read_view": "access.frames", "run_record": "access.frames"}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
