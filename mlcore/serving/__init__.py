"""Serving a published model with numpy only (no model library in the web workers).

:mod:`~mlcore.serving.artifact` is the published form of a model;
:mod:`~mlcore.serving.tenant_model` answers ``/user-items`` and ``/similar-items`` from
it through the table of serving kinds (:mod:`~mlcore.serving.kinds`: ``factors``,
``neighbours``, ``item_item``, ``blend``, each a :class:`~mlcore.serving.kind.ServingKind`);
:mod:`~mlcore.serving.ranking` holds the top-N helpers they share.
"""
