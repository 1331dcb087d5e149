"""Stage 2: prepare an image root from a resolved build."""

from kiwi_like.prepare.pipeline import PrepareOptions, clear_cache, load_state, prepare_root

__all__ = ["PrepareOptions", "clear_cache", "load_state", "prepare_root"]
