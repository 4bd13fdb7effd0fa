"""A recommender's hubness.

- :mod:`xai.recommender.hubness`     k-NN, hubness measures, reductions (MP, LS/NICDM, CSLS), retrieval quality
- :mod:`xai.recommender.embeddings`  the shipped embedding spaces, items' metadata, re-rendering
- :mod:`xai.recommender.hub_attack`  waveform hub attack, with and without Mutual Proximity
- :mod:`xai.recommender.heldout`     retrieval measured out of sample (held-out queries against the collection)
"""
