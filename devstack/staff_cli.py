"""Staff accounts from the command line (``make staff``)::

    python -m devstack.staff_cli create <username> --role support [--role security]
    python -m devstack.staff_cli enrol <token>
    python -m devstack.staff_cli reissue <username>
    python -m devstack.staff_cli list
    python -m devstack.staff_cli disable <username>

``create`` makes a pending member and prints a one-time enrolment link (24 h);
whoever runs it never chooses the member's password nor sees their TOTP secret.
The member opens the link on the desk page (``/staff``), or runs ``enrol``
with the token: it reads the new password from stdin (typed twice, hidden, on a
terminal) and prints the TOTP provisioning URI; the first sign-in with a code
activates the member. This is how the first admin is bootstrapped:
``make staff USERNAME=boss ROLES=admin``, then enrol with the printed link.
``admin`` is never combined with ``support`` or ``security``.

It talks to whatever AWS the environment points at. When ``AWS_ENDPOINT_URL``
is unset and the local stack's key file exists (``.local/index-key``, or under
``HAVA_LOCAL_DIR``), it talks to the local stack instead: moto on
``127.0.0.1:${HAVA_LOCAL_AWS_PORT:-4566}`` with dummy credentials.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from chalicelib.errors import HavaError, ValidationFailed

PROJECT_DIR = Path(__file__).resolve().parents[1]
ROLES = ("support", "security", "admin")


def use_local_stack_if_present(project_dir: Path = PROJECT_DIR) -> bool:
    """Point this process at the local stack when no endpoint is set and its key exists."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return False
    from devstack.stack import (
        HOST,
        Options,
        apply_environment,
        load_or_create_index_key,
        local_environment,
    )

    options = Options.from_env(project_dir)
    if not options.index_key_path.exists():
        return False
    endpoint = f"http://{HOST}:{options.aws_port}"
    key = load_or_create_index_key(options.index_key_path)
    apply_environment(local_environment(options, endpoint, key))
    from chalicelib.config import reset_settings

    reset_settings()
    return True


def read_password() -> str:
    """The new password: typed twice on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass("Пароль сотрудника: ")
        if getpass.getpass("Повторите пароль: ") != first:
            raise ValidationFailed({"password_confirm": "Пароли не совпадают."})
        return first
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def _operator() -> str:
    """Who ran the command, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.staff_cli", description="hava-cabinet staff accounts"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a staff member; prints an enrolment link")
    create.add_argument("username")
    create.add_argument(
        "--role", dest="roles", action="append", choices=ROLES, required=True, help="repeatable"
    )
    create.add_argument(
        "--desk-url",
        default=os.environ.get("HAVA_DESK_URL", "http://127.0.0.1:8000"),
        help="the site root the desk is served under, e.g. https://…/api (default: local stack)",
    )
    enrol = commands.add_parser("enrol", help="enrol with a token (password from stdin)")
    enrol.add_argument("token")
    reissue = commands.add_parser("reissue", help="a new enrolment link for a pending member")
    reissue.add_argument("username")
    reissue.add_argument(
        "--desk-url", default=os.environ.get("HAVA_DESK_URL", "http://127.0.0.1:8000")
    )
    commands.add_parser("list", help="list staff members")
    disable = commands.add_parser("disable", help="disable a staff member, end their sessions")
    disable.add_argument("username")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    args = _parser().parse_args(argv)
    from devstack.stack import StartupError

    try:
        local = use_local_stack_if_present()
    except StartupError as exc:
        print(f"staff_cli: {exc}", file=sys.stderr)
        return 2
    if local:
        print("Локальный стенд: " + os.environ["AWS_ENDPOINT_URL"], file=sys.stderr)

    from chalicelib.services import staff_accounts as staff

    try:
        if args.command in ("create", "reissue"):
            if args.command == "create":
                invitation = staff.invite_staff(args.username, args.roles, _operator())
                roles = ", ".join(invitation["roles"])
                print(f"Сотрудник {args.username} создан ({roles}), ещё не активен.")
            else:
                invitation = staff.reissue_enrolment(args.username, _operator())
                print(f"Прежняя ссылка {args.username} больше не действует.")
            print("Передайте сотруднику эту одноразовую ссылку (действует до")
            print(f"{invitation['enrolment_expires_at']}); пароль и TOTP он задаст сам:")
            print(args.desk_url.rstrip("/") + "/" + invitation["enrolment_link"])
            print(f"или: python -m devstack.staff_cli enrol {invitation['enrolment_token']}")
        elif args.command == "enrol":
            password = read_password()
            body = {"token": args.token, "password": password, "password_confirm": password}
            enrolled = staff.enrol(body)
            print(f"Пароль сотрудника {enrolled['username']} задан.")
            print("Отсканируйте этот URI (QR-код) в приложении-аутентификаторе")
            print("(Google Authenticator, FreeOTP, Aegis…); он показывается один раз.")
            print("Первый вход с кодом из приложения завершит регистрацию:")
            print(enrolled["provisioning_uri"])
        elif args.command == "list":
            for member in staff.list_staff():
                roles = ",".join(member["roles"])
                print(f"{member['username']}\t{member['status']}\t{roles}\t{member['created_at']}")
        else:
            staff.disable_staff(args.username, _operator())
            print(f"Сотрудник {args.username} отключён, его сессии завершены.")
    except ValidationFailed as exc:
        for field, message in exc.fields.items():
            print(f"{field}: {message}", file=sys.stderr)
        return 2
    except HavaError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
