"""Dataset builds: compile corpora to LLVM IR and shard token + graph views (Ray)."""
