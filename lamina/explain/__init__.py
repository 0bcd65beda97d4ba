"""Worked examples for learners: each step of a layer's arithmetic, printed as the slides do."""
