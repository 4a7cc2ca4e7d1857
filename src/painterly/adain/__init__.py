"""Arbitrary style transfer in one pass (Huang & Belongie 2017): the feature transforms, the encoder-decoder, the
decoder's training."""
