"""Streaming pre-training data: shard reading, rank/worker splitting, collation, DataModule."""
