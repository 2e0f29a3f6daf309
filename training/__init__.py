"""The multi-modal encoder, its pre-training, registry and downstream evaluation."""
