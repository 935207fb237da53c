"""Scale-out on existing engines: batch inference over large collections with Ray Data (``actkit predict
--ray``); distributed training lives with the trainer (:mod:`actkit.engine.distributed`, torchrun)."""
