"""Synthetic learning-platform data in Totara's export layout (``mlservice demo-data``).

:mod:`~mlcore.demo.export` writes the export folder from a ``DemoConfig``;
:mod:`~mlcore.demo.users`, :mod:`~mlcore.demo.items` and :mod:`~mlcore.demo.text` make
learners, items and their texts; :mod:`~mlcore.demo.movielens` turns ml-latest-small into
the same layout for benchmarks.
"""
