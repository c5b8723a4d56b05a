"""Totara's side of the wire: the export files and the request token.

* :mod:`~mlcore.totara.export_files`, :mod:`~mlcore.totara.csv_reader`,
  :mod:`~mlcore.totara.checks`, :mod:`~mlcore.totara.entities`: reading and checking the
  CSV files Totara exports (errors name file, line and column);
  :mod:`~mlcore.totara.php_csv` writes them exactly as PHP does (demo data, tests);
* :mod:`~mlcore.totara.tables`, :mod:`~mlcore.totara.features`,
  :mod:`~mlcore.totara.dataset_builder`: the parsed tables, the ``partial`` features and a
  tenant's :class:`~mlcore.dataset.Dataset`;
* :mod:`~mlcore.totara.token`: the ``X-Totara-Ml-Key``/``X-Totara-Time`` token scheme;
* :mod:`~mlcore.totara.tls`: the TLS decision of the Totara data source.
"""
