"""Models: one file per family, one registry for all (see ``_registry.py``)."""
from ._base import ActkitModel, DataConfig, count_params, probabilities
from ._registry import create_model, list_models, model_entry, register_model

__all__ = ["ActkitModel", "DataConfig", "count_params", "probabilities", "create_model", "list_models", "model_entry", "register_model"]
