"""One module per ``mlservice`` subcommand, each with ``add_arguments`` and ``run``."""
