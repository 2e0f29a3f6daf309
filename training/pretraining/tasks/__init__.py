"""The pre-training objectives: masked tokens, graph auto-encoding, IR-graph matching (the
paper's three), IR-graph contrastive alignment and variant contrast."""
