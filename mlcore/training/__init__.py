"""Training a tenant: load, tune, fit, validate, blend, publish; and refreshing it.

Start at :mod:`~mlcore.training.trainer` (``Trainer``, ``train_tenant``) and
:mod:`~mlcore.training.fitting` (``TenantFitter.fit_tenant``). Around them: splits and
evaluation (``splits``, ``evaluation``, ``validation``, ``baseline``), tuning and budgets
(``tuning``, ``budget``, ``trial_search``, ``trial_unit``, ``units``), candidates and
blends (``candidates``, ``selection``, ``blending``, ``recency``), the closed-form models'
shared pieces (``closed_form``, ``closed_form_recommender``), the run log (``train_log``,
``outcome``) and the refresh cycle between full retrains (``refresh``, ``refresh_build``,
``refresh_arrays``, ``refresh_state``, ``fold_in``). See ``docs/architecture.md``.
"""
