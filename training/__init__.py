"""Recipes that build the shipped assets: data caches, trained weights with their cards, concept sets, examples.

Imports ``xai`` (to read music exactly as an upload is read) and ``models`` (the networks); nothing in the product
imports it. Run its modules as scripts, e.g. ``python -m training.train composer``.
"""
