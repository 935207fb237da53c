"""Video datasets: readers for common layouts, a seeking decoder, clip samplers, per-clip
transforms, an optional frame cache and :class:`ClipDataset` for torch DataLoaders.

Typical use::

    from actkit.data.video import ClipAugment, ClipDataset, ClipTransform, read_videos

    table = read_videos("data/actions")                       # format auto-detected
    train = ClipDataset(table.split("train"), model.data_cfg, "random_window",
                        ClipTransform(model.data_cfg, ClipAugment()), seed=0)
    train.validate()                                          # drop unreadable files up front
    val = ClipDataset(table.split("val"), model.data_cfg, "uniform", clips_per_video=3)

PyAV is needed for decoding (``pip install 'actkit[video]'``); it is imported when a video is
opened, so reading tables works without it.
"""
from .cache import FrameCache
from .dataset import ClipDataset, average_clips
from .decode import VideoDecodeError, VideoReader, bench_decode
from .readers import (FORMATS, VideoRecord, VideoTable, detect_format, read_csv, read_diving48, read_folder,
                      read_hmdb51, read_kinetics, read_ucf101, read_videos)
from .samplers import (DenseSampler, RandomWindowSampler, UniformSampler, eval_sampler, eval_views, make_sampler,
                       temporal_jitter)
from .transforms import ClipAugment, ClipTransform, cutmix, mixup, one_hot, smooth_labels, soft_cross_entropy

__all__ = ["FrameCache", "ClipDataset", "average_clips", "VideoDecodeError", "VideoReader", "bench_decode", "FORMATS", "VideoRecord",
           "VideoTable", "detect_format", "read_csv", "read_diving48", "read_folder", "read_hmdb51", "read_kinetics",
           "read_ucf101", "read_videos", "DenseSampler", "RandomWindowSampler", "UniformSampler", "eval_sampler", "eval_views", "make_sampler",
           "temporal_jitter", "ClipAugment", "ClipTransform", "cutmix", "mixup", "one_hot", "smooth_labels",
           "soft_cross_entropy"]
