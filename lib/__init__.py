"""Computation behind the book: data, models, training, gradient statistics, masks, experiments.

Every number the book shows is computed by a named function in this package; the chapter
notebooks only call these functions and plot what they return.
"""
