"""The three pre-training objectives: masked tokens, graph auto-encoding, IR-graph matching."""
