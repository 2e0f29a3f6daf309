"""The pre-training objectives: masked tokens, graph auto-encoding, IR-graph matching (the
paper's three), IR-graph contrastive alignment, variant contrast, optimisation- and
vectorisation-outcome prediction, and embedding spread (VICReg's anti-collapse terms)."""
