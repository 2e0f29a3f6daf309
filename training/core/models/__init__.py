"""The multi-modal encoder (token transformer + relational GNN + fusion) and its task heads."""
