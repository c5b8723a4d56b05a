"""The Totara 13/14 batch mode: the old script's arguments, the ``i2i_*``/``i2u_*`` files.

:mod:`~mlcore.legacy.batch` runs it, :mod:`~mlcore.legacy.rankings` computes the lists,
:mod:`~mlcore.legacy.outputs` and :mod:`~mlcore.legacy.csv_files` write the CSV files
Totara imports.
"""
