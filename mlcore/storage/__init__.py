"""Building blocks shared by model-store plugins (numpy and the kernel only).

* :mod:`~mlcore.storage.names`: which tenant ids, array names and version ids a store
  accepts, how versions are ordered and the next id is chosen.
* :mod:`~mlcore.storage.version_folder`: one version as a folder of ``.npy`` files plus
  ``manifest.json`` with a ``files`` table (dtype, shape, sha256); written without
  pickle, loaded as read-only memory maps and checked.
* :mod:`~mlcore.storage.local_files`: fsynced replace, directory fsync and removal of
  left-over temporary folders.

The ``filesystem`` store keeps these folders under ``ML_MODELS_DIR``; the ``s3`` store
uploads the same files and serves from a local cache of the same folders. See
``docs/model-store.md``.
"""
