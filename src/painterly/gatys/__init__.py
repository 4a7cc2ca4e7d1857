"""Optimisation-based style transfer (Gatys et al. 2016): the engine, its coarse-to-fine schedule, the
optimisers."""
