"""A stage's settings, from the one place they live (``.chalice/config.json``).

``python -m devstack.stage_check STAGE``
    exits 1 naming every placeholder still in the stage's environment variables
    (the check ``chalicelib.config.get_settings()`` makes at first use on AWS);
    the deploy workflow runs it before it changes anything.
``python -m devstack.stage_check STAGE --parameters``
    prints the stage's values as CloudFormation parameter overrides for
    infra/resources.yaml (``CabinetOrigin=… DocumentsBucketName=…``).
``python -m devstack.stage_check STAGE --get NAME``
    prints one environment variable of the stage.

Standard library only (runs on the deploy job's bare Python).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chalicelib.config import placeholder_problems

CONFIG_PATH = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"
#: infra/resources.yaml parameter ← the stage environment variable it comes from.
TEMPLATE_PARAMETERS = {
    "CabinetOrigin": "HAVA_CABINET_ORIGIN",
    "DocumentsBucketName": "HAVA_DOCUMENTS_BUCKET",
    "MaintenanceParameterName": "HAVA_MAINTENANCE_PARAMETER",
}


def stage_environment(stage: str, config_path: Path = CONFIG_PATH) -> dict[str, str]:
    """The environment variables Chalice gives the stage's functions (global + stage)."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if stage not in config.get("stages", {}):
        raise SystemExit(f"stage_check: no stage {stage!r} in {config_path}")
    return {
        **config.get("environment_variables", {}),
        **config["stages"][stage].get("environment_variables", {}),
    }


def main(argv: list[str] | None = None) -> int:
    """Check, or print, a stage's settings."""
    parser = argparse.ArgumentParser(prog="python -m devstack.stage_check")
    parser.add_argument("stage")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--parameters", action="store_true", help="CloudFormation overrides")
    group.add_argument("--get", metavar="NAME", help="print one variable")
    args = parser.parse_args(argv)
    env = stage_environment(args.stage)
    if args.get:
        print(env.get(args.get, ""))
        return 0
    problems = placeholder_problems(env)
    if problems:
        print(f"stage {args.stage}: fill in .chalice/config.json first:", file=sys.stderr)
        for line in problems:
            print(f"  - {line}", file=sys.stderr)
        return 1
    if args.parameters:
        print(" ".join(f"{key}={env[var]}" for key, var in TEMPLATE_PARAMETERS.items()))
    else:
        print(f"stage {args.stage}: settings are filled in")
    return 0


if __name__ == "__main__":
    sys.exit(main())
