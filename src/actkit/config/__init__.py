"""Typed configuration: dataclass trees with defaults, read from YAML, overridden by flags.

* :mod:`.core`: the machinery (:func:`resolve`, YAML, dotted overrides, flags derived from fields).
* :mod:`.train`: :class:`TrainConfig`, what ``actkit train`` runs.
* :mod:`.stream`: :class:`StreamConfig`, what ``actkit stream`` and ``actkit eval`` share.
"""
from .core import (add_config_flags, add_dataclass_flags, check_ranges, coerce, dataclass_from_args, from_dict, leaf_fields,
                   load_yaml, merge, opt, overrides_from_args, recipes, resolve, save_yaml, set_dotted, to_dict)
from .stream import StreamConfig
from .train import (ClipData, CommonData, CropData, DataSection, DistillSection, ModelSection, OptimSection, RunSection,
                    StreamData, TrainConfig)

__all__ = ["add_config_flags", "add_dataclass_flags", "check_ranges", "dataclass_from_args", "coerce", "from_dict", "leaf_fields", "load_yaml", "merge", "opt",
           "overrides_from_args", "recipes", "resolve", "save_yaml", "set_dotted", "to_dict", "StreamConfig", "ClipData",
           "CommonData", "CropData", "DataSection", "DistillSection", "ModelSection", "OptimSection", "RunSection",
           "StreamData", "TrainConfig"]
