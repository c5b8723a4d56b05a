"""The ``mlservice`` console script: one subcommand per module in ``service/commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from mlcore import __version__
from mlcore.errors import MLCoreError
from service.logging_setup import configure_root

#: subcommand name -> (module in service.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "plugins": ("plugins_command", "List installed recommenders, data sources and model stores"),
    "demo-data": ("demo_data_command", "Write a synthetic Totara export with planted structure"),
    "train": ("train_command", "Train every tenant from the data source into the model store"),
    "recommend": ("recommend_command", "Print recommendations or similar items from a model"),
    "models": ("models_command", "List, show or roll back published model versions"),
    "config": ("config_command", "Print every ML_* setting, its value and meaning"),
    "legacy": ("legacy_command", "Totara 13/14 batch recommender: write i2i/i2u CSV files"),
    "serve": ("serve_command", "Serve the API with gunicorn and train on the schedule"),
    "call": ("call_command", "Send a correctly signed request to a running service"),
    "demo": ("demo_command", "Write demo data, train once and serve it on 127.0.0.1:5000"),
    "tune": ("tune_command", "Tune a recommender on an export or ml-latest-small; write a report"),
    "refresh": ("refresh_command", "Fold new activity into the served models now (one refresh cycle)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlservice",
        description="Recommender service for learning platforms (drop-in for Totara's ML Service).",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging and tracebacks of errors"
    )
    parser.add_argument("--version", action="version", version=f"mlservice {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"service.commands.{module_name}")
        sub = commands.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.run(args) or 0)
    except MLCoreError as exc:
        if args.verbose:
            logging.getLogger("mlservice").exception("mlservice %s failed", args.command)
        print(f"mlservice {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): no traceback, nothing more to write.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def configure_logging(verbose: bool) -> None:
    """Console logs in ``ML_LOG_FORMAT``; tracebacks and debug only with ``-v``.

    Python warnings (e.g. NumPy's overflow warnings of a diverging tuning trial) go
    to the log once per place instead of raw to the terminal.
    """
    log_format = os.environ.get("ML_LOG_FORMAT", "text")
    configure_root(log_format, logging.DEBUG if verbose else logging.INFO, tracebacks=verbose)
    logging.captureWarnings(True)
    if not verbose:
        warnings.filterwarnings("once", category=RuntimeWarning)


if __name__ == "__main__":
    sys.exit(main())
