"""Models: one file per family, one registry for all (see ``_registry.py``).

Importing this package imports every family, which registers its named sizes; the registry itself
imports none of them.
"""
from . import (clip_fast, clip_frame, crop_fast, crop_ref, hand_stream, image_timm, skeleton, skeleton_stream,  # noqa: F401
               stream_tsm, video_hf, video_tv)  # registers
from ._base import ActkitModel, DataConfig, count_params, probabilities
from ._registry import (create_model, list_models, model_entry, register_model, register_model_deprecations,
                        resolve_name)

__all__ = ["ActkitModel", "DataConfig", "count_params", "probabilities", "create_model", "list_models", "model_entry",
           "register_model", "register_model_deprecations", "resolve_name"]
