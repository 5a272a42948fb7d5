"""The versioned model registry and the state kept beside it.

``store`` holds versions and the production pointer (``pointer``, compare-and-swap), ``versions``
names them, ``integrity`` checksums and signs them, ``retention`` prunes old ones, ``locking``
serialises writers and ``crashpoints`` lets tests stop a write half-way. The batch ``ledger``
and the ``kept_rows`` of skipped labelled batches live here too. Imports ``data``, ``stats`` and
``settings``; never ``observe`` or the steps.
"""
