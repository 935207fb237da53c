"""Custom classifiers from a few videos: projects (sense studio layout), frozen extractors with cached
features, a trained head (optionally the top layers too), a streaming checkpoint and stateful ONNX that
``actkit stream`` runs live."""
from .features import extractors, load_extractor, video_features
from .project import Project, init_project, load_project
from .train import CustomConfig, evaluate_custom, export_custom, train_custom

__all__ = ["CustomConfig", "Project", "evaluate_custom", "export_custom", "extractors", "init_project",
           "load_extractor", "load_project", "train_custom", "video_features"]
