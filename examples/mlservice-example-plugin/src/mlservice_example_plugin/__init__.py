"""An example third-party plugin for mlservice: the ``recent-popular`` recommender."""

__version__ = "0.1.0"
