"""Staff members in one call, through the enrolment flow (create → link → own password → TOTP).

- ``enrol_staff``: in-process (service calls, the per-test moto); returns the TOTP secret.
- ``enrol_on_stack``: ``python -m devstack.staff_cli create`` against a running local
  stack, then ``POST /admin/v1/enrolment`` over HTTP; returns the authenticator.

The member is ``enrolling`` until the first sign-in with a code, which activates them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp

STAFF_PASSWORD = "служба-поддержки-2026"
REPO_ROOT = Path(__file__).resolve().parents[1]


def secret_of(uri: str) -> str:
    """The base32 secret of a TOTP provisioning URI."""
    assert uri.startswith("otpauth://totp/"), uri
    return parse_qs(urlparse(uri).query)["secret"][0]


def enrol_staff(
    username: str, *roles: str, password: str = STAFF_PASSWORD, created_by: str = "tests"
) -> str:
    """Create and enrol a member in-process; returns the TOTP secret."""
    from chalicelib.services.staff_accounts import enrol, invite_staff

    invitation = invite_staff(username, roles, created_by)
    enrolled = enrol(
        {
            "token": invitation["enrolment_token"],
            "password": password,
            "password_confirm": password,
        }
    )
    return secret_of(enrolled["provisioning_uri"])


def cli_env(stack: Any) -> dict[str, str]:
    """The environment ``staff_cli`` needs to find a running local stack."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")},
        "HAVA_LOCAL_DIR": str(stack.local_dir),
        "HAVA_LOCAL_AWS_PORT": str(urlparse(stack.aws_endpoint).port),
    }


def invite_on_stack(
    stack: Any, username: str, *roles: str, env: dict[str, str] | None = None
) -> str:
    """``make staff`` against the running stack; returns the one-time enrolment token."""
    role_args = [arg for role in roles for arg in ("--role", role)]
    done = subprocess.run(
        [sys.executable, "-m", "devstack.staff_cli", "create", username, *role_args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**cli_env(stack), **(env or {})},
        timeout=120,
        check=True,
    )
    link = next(word for word in done.stdout.split() if "#enrol=" in word)
    return link.split("#enrol=", 1)[1]


def enrol_on_stack(
    stack: Any, username: str, *roles: str, password: str = STAFF_PASSWORD
) -> pyotp.TOTP:
    """Create a member with the CLI and enrol over HTTP; returns the authenticator."""
    import requests

    token = invite_on_stack(stack, username, *roles)
    reply = requests.post(
        f"{stack.base_url}/admin/v1/enrolment",
        json={"token": token, "password": password, "password_confirm": password},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return pyotp.TOTP(secret_of(reply.json()["provisioning_uri"]))
