"""Core library of the learning-platform recommender service.

``mlcore`` owns the Totara export format, the per-tenant dataset, evaluation,
training orchestration and the plugin system. It never imports ``plugins`` or
``service``: backends, data sources and model stores reach it through the
pluggy hooks in :mod:`mlcore.hookspecs`.
"""

__version__ = "0.1.0"
