#!/usr/bin/env python3
"""Totara 13/14 legacy recommender script: a drop-in for ``ml_recommender.py``.

Copy this file to where Totara's ``recommender_command.php`` expects the script,
``<dirroot>/../extensions/ml_recommender/python/ml_recommender.py``, and set Totara's
``py3path`` to the Python interpreter of the environment where ``mlservice`` is
installed (e.g. ``/opt/mlservice/.venv/bin/python``). Totara then runs::

    <py3path> '<...>/ml_recommender.py'  --query 'mf' --result_count_user '25' \\
        --result_count_item '15' --threads '2' --data_path '<dataroot>/recommender/data/data/'

The file only forwards its arguments to ``mlservice legacy``; see ``docs/legacy.md``.
It runs with the standard library alone until the package is imported.
"""

import os
import sys

#: Extra arguments appended to Totara's, e.g. ["--similar_items", "family"].
EXTRA_ARGUMENTS = []
#: Settings for runs started by Totara's cron, e.g. {"ML_SEEN_ITEMS": "downrank"};
#: variables already set in the environment win.
ENVIRONMENT = {}


def main():
    """Run ``mlservice legacy`` with this script's arguments; return the exit status."""
    here = os.path.dirname(os.path.abspath(__file__))
    # The script's own folder comes first on sys.path; never let it shadow the package.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        from service.cli import main as mlservice_main
    except ImportError as exc:
        sys.stderr.write(
            "ml_recommender.py: cannot import the mlservice package with the Python "
            f"interpreter {sys.executable} ({exc}).\n"
            "Set the ml_recommender py3path setting in Totara to the python of the environment "
            "where mlservice is installed, e.g. /opt/mlservice/.venv/bin/python, or install "
            "mlservice for this interpreter.\n"
        )
        return 3
    return mlservice_main(["legacy", *sys.argv[1:], *EXTRA_ARGUMENTS])


if __name__ == "__main__":
    sys.exit(main())
