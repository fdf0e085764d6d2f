"""The pure-Python engine of the predictions app: catalogue, data, features, models, metrics.

Nothing in this package imports Django; services call it with numpy arrays and dataclasses.
"""
