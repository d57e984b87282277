"""Checks of the Lambda deployment zip (``make package`` / ``make lambda-check``).

Standard library only: it runs under the packaging interpreter (python3.12,
``.venv-package``) and under the clean Lambda-like one (``.venv-lambda``,
holding nothing but boto3), never needing the development venv.

``python devstack/lambda_package.py wheels ZIP``
    Every ``*.dist-info/WHEEL`` in the zip must carry only ``manylinux*`` or
    ``*-none-any`` tags, and every compiled file (``.so``) must be listed in
    the ``RECORD`` of such a distribution. A wheel tagged ``linux_x86_64`` was
    built from source against the packaging machine's libraries, which Lambda
    does not have: the function would fail to import.

``python devstack/lambda_package.py runtime SAM_JSON RUNTIME``
    Every function of the SAM template runs on ``RUNTIME`` (the
    ``lambda_runtime`` of ``.chalice/config.json``).

``python devstack/lambda_package.py imports TASK_DIR``
    Run by the Lambda-like interpreter with the zip unpacked in ``TASK_DIR``
    (Lambda's ``/var/task``): imports ``app`` and every module of ``chalicelib``
    (so every lazily imported module of every handler, both workers included),
    answers ``GET /health`` through ``app.app`` as API Gateway would, and
    decodes a JPEG and a PNG with the packaged Pillow through the uploads worker's checks.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import PurePosixPath

#: A tag's platform part that Lambda (Amazon Linux 2023, glibc 2.34) can load.
_GOOD_PLATFORM = re.compile(r"^(any|manylinux[0-9_]*_x86_64|manylinux[0-9]+_x86_64)$")


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(f"lambda_package: {line}", file=sys.stderr)
    return 1


def check_wheels(zip_path: str) -> int:
    """0 when every distribution is manylinux or pure Python and owns every .so."""
    problems: list[str] = []
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        owned: set[str] = set()
        dists = 0
        for name in names:
            path = PurePosixPath(name)
            if path.name != "WHEEL" or not path.parent.name.endswith(".dist-info"):
                continue
            dists += 1
            dist = path.parent.name.removesuffix(".dist-info")
            text = archive.read(name).decode("utf-8", "replace")
            tags = [
                line.split(":", 1)[1].strip()
                for line in text.splitlines()
                if line.startswith("Tag:")
            ]
            if not tags:
                problems.append(f"{dist}: WHEEL has no Tag line")
            for tag in tags:
                parts = tag.split("-")
                platform = parts[-1] if len(parts) == 3 else ""
                abi = parts[1] if len(parts) == 3 else ""
                if platform == "any" and abi != "none":
                    problems.append(f"{dist}: tag {tag} (platform 'any' with a compiled ABI)")
                elif not all(_GOOD_PLATFORM.match(p) for p in platform.split(".")):
                    problems.append(f"{dist}: tag {tag} is not manylinux x86_64 or *-none-any")
            record = path.parent / "RECORD"
            if str(record) in names and not any(dist in p for p in problems):
                for row in archive.read(str(record)).decode("utf-8", "replace").splitlines():
                    owned.add(row.split(",", 1)[0])
        if dists == 0:
            problems.append("no .dist-info/WHEEL at all: is this a Chalice deployment zip?")
        for name in names:
            if re.search(r"\.so(\.[0-9]+)*$", name) and name not in owned:
                problems.append(f"{name}: a binary no manylinux wheel's RECORD lists")
    if problems:
        return _fail(problems)
    print(f"lambda_package: {dists} distributions, all manylinux x86_64 or pure Python")
    return 0


def check_runtime(sam_path: str, runtime: str) -> int:
    """0 when every AWS::Serverless::Function of the template runs on ``runtime``.

    Chalice writes YAML when it merges a YAML template; the standard library has
    no YAML parser, so the two keys are read line by line.
    """
    with open(sam_path, encoding="utf-8") as handle:
        text = handle.read()
    functions = len(re.findall(r"^\s*Type: AWS::Serverless::Function\s*$", text, re.M))
    runtimes = re.findall(r"^\s*\"?Runtime\"?:\s*\"?([\w.]+)\"?,?\s*$", text, re.M)
    wrong = [f"a function on {value}, want {runtime}" for value in runtimes if value != runtime]
    if functions == 0 or len(runtimes) != functions:
        wrong.append(f"{sam_path}: {functions} functions but {len(runtimes)} Runtime lines")
    if wrong:
        return _fail(wrong)
    print(f"lambda_package: {functions} functions, all on {runtime}")
    return 0


def _picture(fmt: str) -> bytes:
    import io

    from PIL import Image  # the packaged Pillow

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buffer, fmt)
    return buffer.getvalue()


def check_imports(task_dir: str) -> int:
    """Import everything the zip's handlers can import, as Lambda would (run from the task dir)."""
    import importlib
    import os
    import pkgutil

    # Lambda puts /var/task first and nothing of this repository anywhere.
    sys.path[:] = [task_dir] + [
        p for p in sys.path[1:] if "site-packages" in p or "lib/python" in p
    ]
    os.environ.setdefault("AWS_REGION", "eu-central-1")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")
    os.environ.setdefault("HAVA_STAGE", "local")
    problems: list[str] = []

    import app  # noqa: F401 - the API handler's module

    for module in ("app",):
        origin = getattr(sys.modules[module], "__file__", "") or ""
        if not origin.startswith(task_dir):
            problems.append(f"{module} imported from {origin}, not from the package")
    import chalicelib

    imported = 0
    for info in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        try:
            importlib.import_module(info.name)
            imported += 1
        except Exception as exc:  # report every failing module, not only the first
            problems.append(f"import {info.name}: {type(exc).__name__}: {exc}")
    for worker in ("chalicelib.workers.notify", "chalicelib.workers.uploads"):
        if worker not in sys.modules:
            problems.append(f"{worker} was not imported")
    for leftover in ("devstack", "tests", "bench"):
        if os.path.exists(os.path.join(task_dir, leftover)):
            problems.append(f"{leftover}/ is in the package")

    # The API handler answers as API Gateway invokes it.
    event = {
        "resource": "/health",
        "path": "/health",
        "httpMethod": "GET",
        "headers": {"Host": "example.execute-api.eu-central-1.amazonaws.com"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/health",
            "httpMethod": "GET",
            "path": "/api/health",
            "stage": "api",
            "requestId": "lambda-check",
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "lambda-check"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    try:
        answer = sys.modules["app"].app(event, None)
        if answer.get("statusCode") != 200:
            problems.append(
                f"GET /health answered {answer.get('statusCode')}: {answer.get('body')}"
            )
    except Exception as exc:
        problems.append(f"GET /health raised {type(exc).__name__}: {exc}")

    # The packaged Pillow decodes a JPEG through the uploads worker's own checks.
    import PIL

    if not (PIL.__file__ or "").startswith(task_dir):
        problems.append(f"PIL imported from {PIL.__file__}, not from the package")
    from chalicelib.domain import images

    for fmt in ("JPEG", "PNG"):
        data = _picture(fmt)
        verdict = images.inspect_image(data, max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)
        if not verdict.accepted or verdict.format != fmt or verdict.width != 640:
            problems.append(f"the uploads check refused a {fmt}: {verdict}")
        elif images.strip_metadata(data)[:4] != data[:4]:
            problems.append(f"strip_metadata did not give a {fmt} back")
    problems.extend(_agreement_problems(task_dir))
    if problems:
        return _fail(problems)
    print(
        f"lambda_package: python{sys.version_info.major}.{sys.version_info.minor} imported app and "
        f"{imported} chalicelib modules (both workers), GET /health 200, JPEG and PNG decoded by "
        f"Pillow {PIL.__version__} from the package, an IBAN validated and an agreement PDF "
        "rendered in both languages"
    )
    return 0


def _agreement_problems(task_dir: str) -> list[str]:
    """What stops the package from validating an IBAN or rendering an agreement PDF.

    Both lean on trimmed dependencies (stdnum without its other data tables,
    fontTools without its compiled accelerators): this proves what is left works.
    """
    from datetime import date
    from decimal import Decimal

    from chalicelib.agreements import AgreementData, Lender, render_agreement_pdf
    from chalicelib.config import get_settings
    from chalicelib.domain.iban import parse_payout_account

    problems: list[str] = []
    try:
        payout = parse_payout_account("KZ11 601A 0000 0000 1234")
        data = AgreementData(
            number="HV-CHECK-000001",
            version=get_settings().agreement_version,
            document_date=date(2026, 12, 1),
            lender=Lender.from_settings(get_settings()),
            borrower_name="Тест Тестов",
            borrower_iin="000000000000",
            payout=payout,
            amount=50_000,
            term_days=30,
            daily_rate=Decimal("0.0028"),
            gesv_percent=Decimal("152.3"),
            interest=Decimal("4200.00"),
            total=Decimal("54200.00"),
            due_date=date(2026, 12, 31),
            penalty_daily_rate=Decimal("0.002"),
        )
        for language in ("ru", "kk"):
            pdf = render_agreement_pdf(data, language)
            if not pdf.startswith(b"%PDF-") or len(pdf) < 10_000:
                problems.append(f"the {language} agreement is not a PDF with its font embedded")
    except Exception as exc:
        problems.append(f"agreement/IBAN check raised {type(exc).__name__}: {exc}")
    for module in ("fpdf", "fontTools", "stdnum"):
        origin = getattr(sys.modules.get(module), "__file__", None) or ""
        if not origin.startswith(task_dir):
            problems.append(f"{module} imported from {origin or 'nowhere'}, not from the package")
    return problems


def main(argv: list[str]) -> int:
    """Dispatch the sub-command."""
    if len(argv) == 2 and argv[0] == "wheels":
        return check_wheels(argv[1])
    if len(argv) == 3 and argv[0] == "runtime":
        return check_runtime(argv[1], argv[2])
    if len(argv) == 2 and argv[0] == "imports":
        return check_imports(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
