"""Small helpers shared by every part of actkit."""
from .io import atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_parquet
from .deps import require
from .progress import progress

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_parquet", "require", "progress"]
