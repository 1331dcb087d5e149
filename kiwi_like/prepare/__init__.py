"""Stage 2: prepare an image root from a resolved build."""

from kiwi_like.prepare.pipeline import PrepareOptions, load_state, prepare_root

__all__ = ["PrepareOptions", "load_state", "prepare_root"]
